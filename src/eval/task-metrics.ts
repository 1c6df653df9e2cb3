/**
 * From the scored answers of one task to its per-sample records and task-level numbers (docs/SPEC.md §5), using
 * the metric functions of ./metrics only.
 */
import {
  type SampleLosses,
  type TruthRatioCompat,
  captionProbability,
  exactMemorization,
  extractionStrength,
  optionNormalisedProbability,
  optionNormalisedSampleProbability,
  probFromLoss,
  reportedTruthRatio,
  rougeLRecall,
  truthRatios,
} from './metrics/index.ts';
import { type TaskSpec } from './benchmark.ts';
import { type TaskScores } from '../results/contract.ts';
import { type EvalItem } from './task-data.ts';

/** One line of `<task>.samples.json` (README "Evaluation output format"). */
export interface SampleRecord {
  index: number;
  prompt: string;
  ground_truth: string;
  generation: string;
  /** L̄ (mean token NLL, closing <|eos|> included) of the ground truth, paraphrase and each perturbed answer. */
  gt_loss: number;
  para_loss: number;
  pert_losses: number[];
  /** This sample's term of the task probability: P̄(gt), or P̄(gt)/(P̄(gt) + Σ_j P̄(pert_j)). */
  prob: number;
  /** R_i = exp(mean_j L̄(pert_j) − L̄(para)) (with compat clear-code: the dataset-wide mean over i, j). */
  truth_ratio: number;
  rougeL_recall: number;
  /** Teacher-forced memorisation of the ground truth (docs/SPEC.md §5). */
  extraction_strength: number;
  exact_memorization: number;
}

/** A task's line in summary.json. */
export type TaskSummary = TaskScores;

/** Probability and truth ratio of a task from its losses (also used on the relearning halves). */
export interface LossScores {
  prob: number;
  truth_ratio: number;
  /** Per sample: the probability term and R_i. */
  probs: number[];
  ratios: number[];
}

export function lossScores(task: Pick<TaskSpec, 'kind' | 'probability'>, losses: readonly SampleLosses[], compat: TruthRatioCompat): LossScores {
  const ratios = truthRatios(losses, compat);
  const plain = task.probability === 'plain';
  return {
    prob: plain ? captionProbability(losses.map((l) => l.gtLoss)) : optionNormalisedProbability(losses),
    truth_ratio: reportedTruthRatio(ratios, task.kind),
    probs: losses.map((l) => (plain ? probFromLoss(l.gtLoss) : optionNormalisedSampleProbability(l))),
    ratios,
  };
}

/**
 * Extraction strength and exact memorisation need only whether each teacher-forced argmax was right, so
 * hits are passed as ids (1 = the model's argmax is the answer token, 0 = it is not) against an all-ones answer.
 */
export function memorisation(argmaxCorrect: readonly boolean[]): { extraction_strength: number; exact_memorization: number } {
  const predicted = argmaxCorrect.map((c) => (c ? 1 : 0));
  const answer = argmaxCorrect.map(() => 1);
  return { extraction_strength: extractionStrength(predicted, answer), exact_memorization: exactMemorization(predicted, answer) };
}

export interface ScoredTask {
  losses: SampleLosses[];
  /** Teacher-forced argmax hits of each ground truth's tokens. */
  gtHits: boolean[][];
}

export function taskRecords(
  task: TaskSpec,
  items: readonly EvalItem[],
  scored: ScoredTask,
  generations: readonly string[],
  compat: TruthRatioCompat,
): { records: SampleRecord[]; summary: TaskSummary } {
  const s = lossScores(task, scored.losses, compat);
  const records = items.map((item, i): SampleRecord => ({
    index: item.index,
    prompt: item.question,
    ground_truth: item.groundTruth,
    generation: generations[i],
    gt_loss: scored.losses[i].gtLoss,
    para_loss: scored.losses[i].paraLoss,
    pert_losses: [...scored.losses[i].pertLosses],
    prob: s.probs[i],
    truth_ratio: s.ratios[i],
    rougeL_recall: rougeLRecall(item.groundTruth, generations[i]),
    ...memorisation(scored.gtHits[i]),
  }));
  const rouge = records.reduce((a, r) => a + r.rougeL_recall, 0) / records.length;
  return { records, summary: { prob: s.prob, rougeL_recall: rouge, truth_ratio: s.truth_ratio, n: records.length } };
}
