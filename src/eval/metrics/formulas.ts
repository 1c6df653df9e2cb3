/**
 * The formulas of docs/SPEC.md §5 over per-token and per-sample losses: probability, truth ratio, forget
 * quality, harmonic mean and utility. Which tasks they combine is the benchmark definition's
 * (../benchmark-scores.ts). Notation: NLL(a) summed token cross-entropy of answer a,
 * L̄(a) = NLL(a)/n(a) its mean per token, P̄(a) = exp(−L̄(a)).
 */
import { UserError } from '../../util/errors.ts';
import { jensenShannonDistance } from './jensen-shannon.ts';
import { ks2samp } from './ks.ts';
import { type TruthRatioCompat } from '../../protocol/vocabulary.ts';

/** Mean losses of one eval sample: ground truth, paraphrase, and every perturbed answer. */
export interface SampleLosses {
  gtLoss: number;
  paraLoss: number;
  pertLosses: readonly number[];
}

/** The three per-task numbers every task reports (names as in summary.json). */
export interface TaskScores {
  prob: number;
  rougeL_recall: number;
  truth_ratio: number;
}

export type { TruthRatioCompat };

/** Forget tasks report mean min(R, 1/R); every other task mean max(0, 1 − 1/R). */
export type TaskKind = 'forget' | 'other';

function requireNonEmpty(what: string, n: number): void {
  if (n === 0) throw new UserError(`${what}: no samples; the task produced no per-sample values (check ds_size and the dataset config)`);
}

function requireFinite(what: string, value: number): void {
  if (!Number.isFinite(value)) throw new UserError(`${what}: got ${value}; every loss must be a finite number`);
}

function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** L̄ = summed token cross-entropy / token count, from the per-token losses of one answer. */
export function meanLoss(tokenLosses: ArrayLike<number>): number {
  if (tokenLosses.length === 0) throw new UserError('meanLoss: the answer has no tokens; every answer needs at least one label token');
  let s = 0;
  for (let i = 0; i < tokenLosses.length; i++) s += tokenLosses[i];
  requireFinite('meanLoss', s);
  return s / tokenLosses.length;
}

/** P̄ = exp(−L̄): the geometric-mean per-token probability of an answer. */
export function probFromLoss(meanLossValue: number): number {
  return Math.exp(-meanLossValue);
}

/** Caption tasks (Forget, Retain): mean_i P̄(gt_i). */
export function captionProbability(gtLosses: readonly number[]): number {
  requireNonEmpty('captionProbability', gtLosses.length);
  return mean(gtLosses.map(probFromLoss));
}

/**
 * P̄(gt) / (P̄(gt) + Σ_j P̄(pert_j)) for one sample, evaluated as 1 / (1 + Σ_j exp(L̄(gt) − L̄(pert_j)))
 * (the same number, but it cannot turn into 0/0 when every probability underflows).
 */
export function optionNormalisedSampleProbability(sample: Pick<SampleLosses, 'gtLoss' | 'pertLosses'>): number {
  requireFinite('optionNormalisedProbability (ground truth)', sample.gtLoss);
  let ratio = 0;
  for (const pert of sample.pertLosses) {
    requireFinite('optionNormalisedProbability (perturbed answer)', pert);
    ratio += Math.exp(sample.gtLoss - pert);
  }
  return 1 / (1 + ratio);
}

/** All tasks but Forget/Retain: mean_i P̄(gt_i) / (P̄(gt_i) + Σ_j P̄(pert_ij)). */
export function optionNormalisedProbability(samples: readonly Pick<SampleLosses, 'gtLoss' | 'pertLosses'>[]): number {
  requireNonEmpty('optionNormalisedProbability', samples.length);
  return mean(samples.map(optionNormalisedSampleProbability));
}

/**
 * Per-sample truth ratios R_i = exp(mean_j L̄(pert_ij) − L̄(para_i)) = P̄(para)/geomean_j P̄(pert_j).
 * With `clear-code`, mean_j is replaced by one mean over all perturbed losses of all samples
 * (flattened over i and j), which is what the CLEAR reference code computes.
 */
export function truthRatios(
  samples: readonly Pick<SampleLosses, 'paraLoss' | 'pertLosses'>[],
  compat: TruthRatioCompat = 'tofu',
): number[] {
  requireNonEmpty('truthRatios', samples.length);
  samples.forEach((s, i) => {
    if (s.pertLosses.length === 0) {
      throw new UserError(`truthRatios: sample ${i} has no perturbed answers; the truth ratio needs at least one`);
    }
    requireFinite(`truthRatios (sample ${i} paraphrase)`, s.paraLoss);
    s.pertLosses.forEach((l) => requireFinite(`truthRatios (sample ${i} perturbed answer)`, l));
  });
  if (compat === 'clear-code') {
    const datasetMean = mean(samples.flatMap((s) => s.pertLosses));
    return samples.map((s) => Math.exp(datasetMean - s.paraLoss));
  }
  return samples.map((s) => Math.exp(mean(s.pertLosses) - s.paraLoss));
}

/**
 * TR⁺ = mean_i max(0, 1 − 1/R_i): 0 while the paraphrase is no likelier than the perturbed answers
 * (R ≤ 1), rising to 1 as the model prefers it (R ≫ 1), so it grows with what the model knows.
 */
export function truthRatioPlus(ratios: readonly number[]): number {
  requireNonEmpty('truthRatioPlus', ratios.length);
  return mean(ratios.map((r) => Math.max(0, 1 - 1 / r)));
}

/**
 * The reported truth ratio of a task from its per-sample R_i: forget tasks mean min(R, 1/R) (as the
 * CLEAR code's mm/calculate_metrics.py), every other task TR⁺.
 */
export function reportedTruthRatio(ratios: readonly number[], kind: TaskKind): number {
  requireNonEmpty('reportedTruthRatio', ratios.length);
  if (kind === 'forget') return mean(ratios.map((r) => Math.min(r, 1 / r)));
  return truthRatioPlus(ratios);
}

/** FQ_KS: two-sided two-sample KS p-value between the model's and gold's Forget-task R_i. */
export function forgetQualityKS(modelRatios: readonly number[], goldRatios: readonly number[]): number {
  return ks2samp(modelRatios, goldRatios).pvalue;
}

/**
 * FQ_JS = 1 − Jensen–Shannon distance (natural log) between the model's and gold's Forget-task
 * R vectors, each normalised to sum 1 and paired by sample index. The two evaluations must cover
 * the same samples, so different lengths are an error rather than something to truncate.
 */
export function forgetQualityJS(modelRatios: readonly number[], goldRatios: readonly number[]): number {
  if (modelRatios.length !== goldRatios.length) {
    throw new UserError(
      `forget quality (JS): the model has ${modelRatios.length} Forget samples but gold has ${goldRatios.length}; ` +
        'evaluate both with the same --forget-split and ds_size',
    );
  }
  return 1 - jensenShannonDistance(modelRatios, goldRatios);
}

/** Harmonic mean n / Σ 1/v_i; any zero makes it 0 (as scipy.stats.hmean). Values must be ≥ 0. */
export function harmonicMean(values: readonly number[]): number {
  requireNonEmpty('harmonicMean', values.length);
  let reciprocalSum = 0;
  for (const v of values) {
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw new UserError(`harmonicMean: got ${v}; the harmonic mean is defined for finite non-negative values only`);
    }
    if (v === 0) return 0;
    reciprocalSum += 1 / v;
  }
  return values.length / reciprocalSum;
}

/** Harmonic mean of {prob, ROUGE-L recall, truth ratio} over the given tasks. */
export function utility(tasks: readonly TaskScores[]): number {
  return harmonicMean(tasks.flatMap((t) => [t.prob, t.rougeL_recall, t.truth_ratio]));
}
