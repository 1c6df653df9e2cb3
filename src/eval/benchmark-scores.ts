/**
 * Benchmark-level numbers from the task summaries (docs/SPEC.md §5): model utility, the paper-table columns and
 * forget quality against gold, each over the tasks the benchmark definition names (the formulas themselves
 * are ./metrics/formulas.ts).
 */
import { forgetQualityJS, forgetQualityKS, harmonicMean, utility } from './metrics/index.ts';
import { type BenchmarkSpec } from './benchmark.ts';
import { type TaskSummary } from './task-metrics.ts';
import { type PaperColumns } from '../results/contract.ts';

export type { PaperColumns };

export interface ForgetQuality {
  ks: number;
  js: number;
}

function pick(tasks: Readonly<Record<string, TaskSummary>>, ids: readonly string[]): TaskSummary[] {
  return ids.map((id) => tasks[id]);
}

/** Harmonic mean of {ROUGE-L recall, probability, truth ratio} over the benchmark's utility tasks. */
export function benchmarkUtility(b: BenchmarkSpec, tasks: Readonly<Record<string, TaskSummary>>): number {
  return utility(pick(tasks, b.utilityTasks));
}

/** Real / Retain / Forget = H(prob, truth ratio over the named tasks); Forget Quality = FQ_JS. */
export function paperColumns(b: BenchmarkSpec, tasks: Readonly<Record<string, TaskSummary>>, fq: ForgetQuality | null): PaperColumns {
  const h = (ids: readonly string[]) => harmonicMean(pick(tasks, ids).flatMap((t) => [t.prob, t.truth_ratio]));
  return { real: h(b.paper.real), retain: h(b.paper.retain), forget: h(b.paper.forget), forget_quality: fq ? fq.js : null };
}

/** FQ_KS and FQ_JS between the model's and gold's per-sample truth ratios (paired by sample). */
export function forgetQuality(modelRatios: readonly number[], goldRatios: readonly number[]): ForgetQuality {
  return { ks: forgetQualityKS(modelRatios, goldRatios), js: forgetQualityJS(modelRatios, goldRatios) };
}
