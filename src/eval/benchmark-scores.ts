/**
 * Benchmark-level numbers from the task summaries (docs/SPEC.md §5): model utility, the paper-table columns and
 * forget quality against gold, each over the tasks the benchmark definition names (the formulas themselves
 * are ./metrics/formulas.ts).
 */
import { forgetQualityJS, forgetQualityKS, harmonicMean, truthRatioPlus, utility } from './metrics/index.ts';
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

/**
 * Real / Retain / Forget = H(prob, TR⁺) over the named tasks, Forget Quality = FQ_JS. The non-forget tasks
 * report TR⁺ as their truth ratio; the forget tasks report min(R, 1/R), which falls both when the model is
 * sure of the answer (R ≫ 1) and when it prefers the perturbed ones (R ≪ 1), so Forget takes TR⁺ from their
 * per-sample R_i (`ratios`, by task id) to keep "lower is better" true. The task-reported value gives
 * `forget_clear_code`, the reference code's number.
 */
export function paperColumns(
  b: BenchmarkSpec,
  tasks: Readonly<Record<string, TaskSummary>>,
  ratios: Readonly<Record<string, readonly number[]>>,
  fq: ForgetQuality | null,
): PaperColumns {
  const h = (ids: readonly string[]) => harmonicMean(pick(tasks, ids).flatMap((t) => [t.prob, t.truth_ratio]));
  const forgetTR = (id: string): number => {
    const r = ratios[id];
    if (!r) throw new Error(`paperColumns: no per-sample truth ratios for forget task ${id}`);
    return truthRatioPlus(r);
  };
  return {
    real: h(b.paper.real),
    retain: h(b.paper.retain),
    forget: harmonicMean(b.paper.forget.flatMap((id) => [tasks[id].prob, forgetTR(id)])),
    forget_clear_code: h(b.paper.forget),
    forget_quality: fq ? fq.js : null,
  };
}

/** FQ_KS and FQ_JS between the model's and gold's per-sample truth ratios (paired by sample). */
export function forgetQuality(modelRatios: readonly number[], goldRatios: readonly number[]): ForgetQuality {
  return { ks: forgetQualityKS(modelRatios, goldRatios), js: forgetQualityJS(modelRatios, goldRatios) };
}
