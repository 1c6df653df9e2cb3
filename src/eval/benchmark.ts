/**
 * What a benchmark is: a declarative list of evaluation tasks (docs/SPEC.md §4) plus which tasks feed each
 * aggregate (forget quality, model utility, the paper columns, membership inference, extraction and the
 * relearning attack). The definitions themselves live in `benchmarks/<name>.ts`.
 */
import { type QuestionStrategy } from '../models/chat.ts';
import { type TaskKind } from './metrics/index.ts';
import { type ForgetSplit } from '../protocol/vocabulary.ts';

/** Every eval set is capped at its first `ds_size` rows (docs/SPEC.md §4). */
export const DEFAULT_DS_SIZE = 300;

export interface TaskSpec {
  /** Task id: the key under summary.json `tasks` and the file name `<id>.samples.json`. */
  id: string;
  /** Human-readable name (as in the paper). */
  title: string;
  /** `clear`: the CLEAR-layout dataset (`--data`); `tofu`: its text companion in `<data>/tofu`. */
  dataset: 'clear' | 'tofu';
  /** Config name; `{split}` stands for the forget split (e.g. `{split}_perturbed` → `forget10_perturbed`). */
  config: string;
  question: QuestionStrategy;
  /** Whether the row's image goes into the prompt (docs/SPEC.md §4: the image stays in the input). */
  image: boolean;
  /** Columns holding the ground truth, the paraphrase (= ground truth when equal) and the perturbed answers. */
  groundTruth: string;
  paraphrase: string;
  perturbed: string;
  /** `forget`: reported truth ratio mean min(R, 1/R); `other`: mean max(0, 1 − 1/R). */
  kind: TaskKind;
  /** `plain`: mean P̄(gt); `option_normalised`: mean P̄(gt) / (P̄(gt) + Σ_j P̄(pert_j)). */
  probability: 'plain' | 'option_normalised';
  dsSize: number;
}

export interface BenchmarkSpec {
  name: string;
  description: string;
  tasks: readonly TaskSpec[];
  /** Task whose per-sample truth ratios are compared with gold's (FQ_KS, FQ_JS). */
  forgetQualityTask: string;
  /** Tasks whose {ROUGE-L recall, probability, truth ratio} make the model utility (harmonic mean). */
  utilityTasks: readonly string[];
  /**
   * Paper-table columns: harmonic mean of {probability, TR⁺ = mean max(0, 1 − 1/R)} over these tasks, so every
   * column rises with what the model knows (the forget tasks' reported min(R, 1/R) gives `forget_clear_code`).
   */
  paper: { real: readonly string[]; retain: readonly string[]; forget: readonly string[] };
  /**
   * Membership inference: the member task's ground-truth answers against the same questions and columns on
   * the first of `holdoutConfigs` the dataset has (persons never trained on; `{nn}` stands for the split's
   * percentage, e.g. TOFU's `holdout10`). Skipped, with the reason in summary.json, when it has none.
   */
  mia: { memberTask: string; holdoutConfigs: readonly string[] };
  /** Task whose ground-truth answers give extraction strength and exact memorisation. */
  extractionTask: string;
  /** Relearning attack: fine-tune on half of the first task's rows, re-score these tasks on the other half. */
  relearn: { tasks: readonly string[] };
}

/** A config name with `{split}` (forget10) and `{nn}` (10) filled in. */
export function configFor(task: Pick<TaskSpec, 'config'>, split: ForgetSplit): string {
  return task.config.replaceAll('{split}', split).replaceAll('{nn}', split.replace(/^forget/, ''));
}

/** Every task id a benchmark's aggregates name must be one of its tasks (checked once, by the tests). */
export function checkBenchmark(b: BenchmarkSpec): void {
  const ids = new Set(b.tasks.map((t) => t.id));
  if (ids.size !== b.tasks.length) throw new Error(`benchmark ${b.name}: duplicate task ids`);
  const named = [b.forgetQualityTask, ...b.utilityTasks, ...b.paper.real, ...b.paper.retain, ...b.paper.forget, b.mia.memberTask, b.extractionTask, ...b.relearn.tasks];
  for (const id of named) if (!ids.has(id)) throw new Error(`benchmark ${b.name}: aggregate names unknown task ${id}`);
  const relearnConfigs = new Set(b.relearn.tasks.map((id) => b.tasks.find((t) => t.id === id)!.config));
  if (relearnConfigs.size !== 1) throw new Error(`benchmark ${b.name}: the relearn tasks must share one config`);
}

export function taskById(b: BenchmarkSpec, id: string): TaskSpec {
  const t = b.tasks.find((x) => x.id === id);
  if (!t) throw new Error(`benchmark ${b.name} has no task ${id}`);
  return t;
}
