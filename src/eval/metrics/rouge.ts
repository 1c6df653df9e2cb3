/**
 * ROUGE-L exactly as Google's `rouge_score` computes it with
 * `RougeScorer(["rougeL"], use_stemmer=True).score(target, prediction)["rougeL"]`
 * (rouge/tokenize.py, rouge/rouge_scorer.py `_score_lcs`, rouge/scoring.py `fmeasure`).
 */
import { porterStem } from './porter-stemmer.ts';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

const NON_ALPHANUMERIC = /[^a-z0-9]+/g;
const VALID_TOKEN = /^[a-z0-9]+$/;

/**
 * rouge_score's DefaultTokenizer(use_stemmer=True): lowercase, every run of [^a-z0-9] becomes
 * one space, split on whitespace, Porter-stem tokens longer than 3 characters, then drop
 * anything that is not a non-empty [a-z0-9]+ token (this removes the empty strings that
 * leading/trailing spaces leave behind).
 */
export function rougeTokenize(text: string): string[] {
  // Python's str.lower() and JS toLowerCase() both apply Unicode default case mapping; any
  // non-ASCII result is turned into a separator by the next line either way.
  const spaced = text.toLowerCase().replace(NON_ALPHANUMERIC, ' ');
  const tokens = spaced.split(/\s+/).map((t) => (t.length > 3 ? porterStem(t) : t));
  return tokens.filter((t) => VALID_TOKEN.test(t));
}

/** Length of the longest common subsequence (rouge_score's `_lcs_table`, two rows at a time). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1);
  let curr = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      curr[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], curr[j - 1]);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length];
}

/** `scoring.fmeasure`: harmonic mean of precision and recall, 0 when both are 0. */
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** ROUGE-L precision, recall and F-measure of `prediction` against `target` (the reference). */
export function rougeL(target: string, prediction: string): RougeScore {
  const targetTokens = rougeTokenize(target);
  const predictionTokens = rougeTokenize(prediction);
  if (targetTokens.length === 0 || predictionTokens.length === 0) {
    return { precision: 0, recall: 0, fmeasure: 0 };
  }
  const lcs = lcsLength(targetTokens, predictionTokens);
  const precision = lcs / predictionTokens.length;
  const recall = lcs / targetTokens.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** ROUGE-L recall: LCS length / number of reference tokens (the CLEAR/TOFU "ROUGE" number). */
export function rougeLRecall(target: string, prediction: string): number {
  return rougeL(target, prediction).recall;
}
