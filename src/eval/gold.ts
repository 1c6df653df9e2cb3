/**
 * The gold model's evaluation, as forget quality and privleak need it: its per-sample truth ratios on the
 * forget-quality task (`<task>.samples.json`) and its membership-inference AUCs (`summary.json`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { type TruthRatioCompat } from './metrics/index.ts';
import { MIA_ATTACKS, type MiaScores } from './privacy.ts';
import { summaryPath, taskSamplesPath } from '../results/layout.ts';

export interface GoldEval {
  dir: string;
  /** Row index and R_i of each forget-quality sample, in file order. */
  indices: number[];
  ratios: number[];
  miaAuc: MiaScores | null;
}

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) {
    throw new UserError(`--gold: ${file} does not exist; evaluate the gold model first (clearbench eval --model <gold> --out <dir>) and pass that directory`);
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`--gold: ${file} is not valid JSON (${(err as Error).message}); re-run the gold model's ${what}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readGold(dir: string, expect: { benchmark: string; forgetSplit: string; task: string; compat: TruthRatioCompat }): GoldEval {
  const summaryFile = summaryPath(dir);
  const summary = readJson(summaryFile, 'evaluation');
  if (!isObj(summary)) throw new UserError(`--gold: ${summaryFile} must hold a JSON object; re-run the gold model's evaluation`);
  if (summary.benchmark !== expect.benchmark || summary.forget_split !== expect.forgetSplit) {
    throw new UserError(
      `--gold: ${dir} evaluates ${String(summary.benchmark)}/${String(summary.forget_split)}, not ${expect.benchmark}/${expect.forgetSplit}; ` +
        'pass the gold evaluation of the same benchmark and forget split',
    );
  }
  const goldCompat = summary.truth_ratio_compat ?? 'tofu';
  if (goldCompat !== expect.compat) {
    throw new UserError(`--gold: gold's truth ratios use compat ${String(goldCompat)}, this evaluation ${expect.compat}; evaluate both with the same --truth-ratio`);
  }
  const samplesFile = taskSamplesPath(dir, expect.task);
  const samples = readJson(samplesFile, 'evaluation');
  if (!Array.isArray(samples) || samples.length === 0) throw new UserError(`--gold: ${samplesFile} must hold a non-empty array of samples; re-run the gold model's evaluation`);
  const indices: number[] = [];
  const ratios: number[] = [];
  samples.forEach((s, i) => {
    if (!isObj(s) || !Number.isInteger(s.index) || typeof s.truth_ratio !== 'number' || !(s.truth_ratio > 0)) {
      throw new UserError(`--gold: sample ${i} of ${samplesFile} needs an integer "index" and a positive "truth_ratio"; re-run the gold model's evaluation`);
    }
    indices.push(s.index as number);
    ratios.push(s.truth_ratio);
  });
  let miaAuc: MiaScores | null = null;
  const mia = isObj(summary.privacy) ? summary.privacy.mia_auc : null;
  if (isObj(mia) && MIA_ATTACKS.every((a) => typeof mia[a] === 'number')) miaAuc = mia as unknown as MiaScores;
  return { dir, indices, ratios, miaAuc };
}

/** Gold's R_i in the model's sample order; both must cover the same rows. */
export function pairedGoldRatios(gold: GoldEval, modelIndices: readonly number[]): number[] {
  const same = gold.indices.length === modelIndices.length && gold.indices.every((v, i) => v === modelIndices[i]);
  if (!same) {
    throw new UserError(
      `--gold: gold's evaluation covers ${gold.indices.length} forget samples, this one ${modelIndices.length} (or other rows); ` +
        'evaluate both with the same --forget-split, --ds-size and dataset',
    );
  }
  return gold.ratios;
}
