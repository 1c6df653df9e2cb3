/**
 * The results contract: the shapes of the files the pipeline and the evaluator write into a run
 * directory (where they lie: layout.ts), and strict readers for them. The writers build these types and
 * the report reads them back through these readers, never a model, so every table can be rebuilt from
 * the files alone.
 *
 *   models/<model>/meta.json                              ModelMeta
 *   models/<model>/train_log.jsonl                        TrainLogEntry per line
 *   models/<model>/eval/<benchmark>-<split>/summary.json  EvalSummary
 *   expected-results.json                                 ExpectedResults
 *
 * The optional sections of a summary (privacy, extraction, relearn) may be null or absent; a present
 * key of the wrong type is an error naming the file and the key. Nothing here is a wall-clock time
 * except meta.json `wall_s`: an evaluation's timing is printed, never written.
 */
import { readFileSync } from 'node:fs';
import {
  FORGET_SPLITS, type ForgetSplit, MIA_ATTACKS, type MiaAttack, MODALITIES, type Modality, ROLES, type Role,
  TRUTH_RATIO_FORMS, type TruthRatioCompat,
} from '../protocol/vocabulary.ts';
import { UserError } from '../util/errors.ts';

export interface ModelMeta {
  name: string;
  role: Role;
  method: string | null;
  hyperparameters: Record<string, unknown>;
  seed: number | null;
  /** Models with the same group are one configuration run with different seeds. */
  group: string | null;
  forget_split: ForgetSplit | null;
  modality: Modality | null;
  /** Seconds the model took to train or unlearn: the one wall-clock field of the results. */
  wall_s: number | null;
}

/** One task's scores (summary.json `tasks.<id>`). */
export interface TaskScores {
  prob: number;
  rougeL_recall: number;
  truth_ratio: number;
  n: number;
}

/** The paper's columns: real, retain and forget scores and forget quality (null without a gold model). */
export interface PaperColumns {
  real: number;
  retain: number;
  /** H(prob, TR⁺) over the forget tasks: high while the model knows the forget persons, low for gold. */
  forget: number;
  /** H(prob, mean min(R, 1/R)) over the forget tasks, the CLEAR code's Forget (mm/calculate_metrics.py); null in summaries written before it existed. */
  forget_clear_code: number | null;
  forget_quality: number | null;
}

/** One value per membership-inference attack. */
export type MiaScores = Record<MiaAttack, number>;

export interface PrivacySummary {
  /** The min-k attack's privleak against the gold model (null without a gold model). */
  privleak: number | null;
  mia_auc: MiaScores;
  privleak_by_attack: Record<MiaAttack, number | null> | null;
  n_forget: number;
  n_holdout: number;
}

export interface ExtractionSummary {
  extraction_strength: number;
  exact_memorization: number;
  /** The task whose ground truths were measured. */
  task: string;
}

export interface ProbAndTruthRatio {
  prob: number;
  truth_ratio: number;
}

export interface RelearnSummary {
  steps: number;
  forget_prob_before: number;
  forget_prob_after: number;
  recovery: number;
  lr: number;
  batch_size: number;
  train_rows: number;
  eval_rows: number;
  /** Probability and truth ratio of every re-scored task on the evaluated half, before and after. */
  tasks: Record<string, { before: ProbAndTruthRatio; after: ProbAndTruthRatio }>;
}

/** summary.json of one evaluation: what evaluate() writes and the report reads. */
export interface EvalSummary {
  benchmark: string;
  forget_split: ForgetSplit;
  model: string | null;
  tasks: Record<string, TaskScores>;
  model_utility: number;
  forget_quality_ks: number | null;
  forget_quality_js: number | null;
  paper: PaperColumns;
  privacy: PrivacySummary | null;
  extraction: ExtractionSummary | null;
  relearn: RelearnSummary | null;
  truth_ratio_compat: TruthRatioCompat;
  seed: number;
  /** Per task: the generation budget used. */
  max_new_tokens: Record<string, number>;
}

export interface TrainLogEntry {
  step: number;
  epoch: number | null;
  /** null when training diverged and the writer could not store a finite number. */
  loss: number | null;
  lr: number | null;
  phase: string | null;
}

type Obj = Record<string, unknown>;

const FIX = 're-run the step that wrote it, or fix the file';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 30 ? v.slice(0, 30) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Typed field access that names the file and the dotted key on every failure. */
class Fields {
  constructor(readonly file: string) {}

  fail(key: string, want: string, got: unknown): never {
    const found = got === undefined ? 'it is missing' : `found ${describe(got)}`;
    throw new UserError(`${this.file}: key "${key}" must be ${want} (${found}); ${FIX}`);
  }

  obj(o: Obj, key: string, path: string): Obj {
    const v = o[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Obj;
  }

  /** An object, or null when the key is absent or null. */
  objOrNull(o: Obj, key: string, path: string): Obj | null {
    return o[key] === undefined || o[key] === null ? null : this.obj(o, key, path);
  }

  num(o: Obj, key: string, path: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, 'a number', v);
    return v as number;
  }

  numOrNull(o: Obj, key: string, path: string): number | null {
    return o[key] === undefined || o[key] === null ? null : this.num(o, key, path);
  }

  str(o: Obj, key: string, path: string): string {
    const v = o[key];
    if (typeof v !== 'string' || v === '') this.fail(path, 'a non-empty string', v);
    return v as string;
  }

  strOrNull(o: Obj, key: string, path: string): string | null {
    return o[key] === undefined || o[key] === null ? null : this.str(o, key, path);
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T {
    const v = o[key];
    if (!(values as readonly unknown[]).includes(v)) this.fail(path, `one of ${values.join(', ')}`, v);
    return v as T;
  }

  oneOfOrNull<T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T | null {
    return o[key] === undefined || o[key] === null ? null : this.oneOf(o, key, path, values);
  }

  /** An object whose every value `each` reads (keys as found). */
  record<T>(o: Obj, key: string, path: string, each: (parent: Obj, key: string, path: string) => T): Record<string, T> {
    const obj = this.obj(o, key, path);
    return Object.fromEntries(Object.keys(obj).map((k) => [k, each(obj, k, `${path}.${k}`)]));
  }
}

function readJsonObject(file: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path and permissions`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message}); ${FIX}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${file}: must hold a JSON object (found ${describe(value)}); ${FIX}`);
  }
  return value as Obj;
}

export function readModelMeta(file: string): ModelMeta {
  const o = readJsonObject(file);
  const f = new Fields(file);
  const role = f.oneOf(o, 'role', 'role', ROLES);
  const method = f.strOrNull(o, 'method', 'method');
  if (role === 'unlearned' && method === null) f.fail('method', 'the unlearning method for an unlearned model', o.method);
  return {
    name: f.str(o, 'name', 'name'),
    role,
    method,
    hyperparameters: f.objOrNull(o, 'hyperparameters', 'hyperparameters') ?? {},
    seed: f.numOrNull(o, 'seed', 'seed'),
    group: f.strOrNull(o, 'group', 'group'),
    forget_split: f.oneOfOrNull(o, 'forget_split', 'forget_split', FORGET_SPLITS),
    modality: f.oneOfOrNull(o, 'modality', 'modality', MODALITIES),
    wall_s: f.numOrNull(o, 'wall_s', 'wall_s'),
  };
}

function readTaskScores(f: Fields, o: Obj, key: string, p: string): TaskScores {
  const t = f.obj(o, key, p);
  return {
    prob: f.num(t, 'prob', `${p}.prob`),
    rougeL_recall: f.num(t, 'rougeL_recall', `${p}.rougeL_recall`),
    truth_ratio: f.num(t, 'truth_ratio', `${p}.truth_ratio`),
    n: f.num(t, 'n', `${p}.n`),
  };
}

function readMiaScores(f: Fields, o: Obj, key: string, p: string): MiaScores {
  const m = f.obj(o, key, p);
  return Object.fromEntries(MIA_ATTACKS.map((a) => [a, f.num(m, a, `${p}.${a}`)])) as MiaScores;
}

function readPrivacy(f: Fields, o: Obj): PrivacySummary | null {
  const privacy = f.objOrNull(o, 'privacy', 'privacy');
  if (!privacy) return null;
  const byAttack = f.objOrNull(privacy, 'privleak_by_attack', 'privacy.privleak_by_attack');
  return {
    privleak: f.numOrNull(privacy, 'privleak', 'privacy.privleak'),
    mia_auc: readMiaScores(f, privacy, 'mia_auc', 'privacy.mia_auc'),
    privleak_by_attack: byAttack && (Object.fromEntries(
      MIA_ATTACKS.map((a) => [a, f.numOrNull(byAttack, a, `privacy.privleak_by_attack.${a}`)]),
    ) as Record<MiaAttack, number | null>),
    n_forget: f.num(privacy, 'n_forget', 'privacy.n_forget'),
    n_holdout: f.num(privacy, 'n_holdout', 'privacy.n_holdout'),
  };
}

function readExtraction(f: Fields, o: Obj): ExtractionSummary | null {
  const e = f.objOrNull(o, 'extraction', 'extraction');
  return e && {
    extraction_strength: f.num(e, 'extraction_strength', 'extraction.extraction_strength'),
    exact_memorization: f.num(e, 'exact_memorization', 'extraction.exact_memorization'),
    task: f.str(e, 'task', 'extraction.task'),
  };
}

function readProbAndTruthRatio(f: Fields, o: Obj, key: string, p: string): ProbAndTruthRatio {
  const x = f.obj(o, key, p);
  return { prob: f.num(x, 'prob', `${p}.prob`), truth_ratio: f.num(x, 'truth_ratio', `${p}.truth_ratio`) };
}

function readRelearn(f: Fields, o: Obj): RelearnSummary | null {
  const r = f.objOrNull(o, 'relearn', 'relearn');
  return r && {
    steps: f.num(r, 'steps', 'relearn.steps'),
    forget_prob_before: f.num(r, 'forget_prob_before', 'relearn.forget_prob_before'),
    forget_prob_after: f.num(r, 'forget_prob_after', 'relearn.forget_prob_after'),
    recovery: f.num(r, 'recovery', 'relearn.recovery'),
    lr: f.num(r, 'lr', 'relearn.lr'),
    batch_size: f.num(r, 'batch_size', 'relearn.batch_size'),
    train_rows: f.num(r, 'train_rows', 'relearn.train_rows'),
    eval_rows: f.num(r, 'eval_rows', 'relearn.eval_rows'),
    tasks: f.record(r, 'tasks', 'relearn.tasks', (parent, k, p) => {
      const t = f.obj(parent, k, p);
      return { before: readProbAndTruthRatio(f, t, 'before', `${p}.before`), after: readProbAndTruthRatio(f, t, 'after', `${p}.after`) };
    }),
  };
}

export function readEvalSummary(file: string): EvalSummary {
  const o = readJsonObject(file);
  const f = new Fields(file);
  const paper = f.obj(o, 'paper', 'paper');
  return {
    benchmark: f.str(o, 'benchmark', 'benchmark'),
    forget_split: f.oneOf(o, 'forget_split', 'forget_split', FORGET_SPLITS),
    model: f.strOrNull(o, 'model', 'model'),
    tasks: f.record(o, 'tasks', 'tasks', (parent, k, p) => readTaskScores(f, parent, k, p)),
    model_utility: f.num(o, 'model_utility', 'model_utility'),
    forget_quality_ks: f.numOrNull(o, 'forget_quality_ks', 'forget_quality_ks'),
    forget_quality_js: f.numOrNull(o, 'forget_quality_js', 'forget_quality_js'),
    paper: {
      real: f.num(paper, 'real', 'paper.real'),
      retain: f.num(paper, 'retain', 'paper.retain'),
      forget: f.num(paper, 'forget', 'paper.forget'),
      forget_clear_code: f.numOrNull(paper, 'forget_clear_code', 'paper.forget_clear_code'),
      forget_quality: f.numOrNull(paper, 'forget_quality', 'paper.forget_quality'),
    },
    privacy: readPrivacy(f, o),
    extraction: readExtraction(f, o),
    relearn: readRelearn(f, o),
    truth_ratio_compat: f.oneOf(o, 'truth_ratio_compat', 'truth_ratio_compat', TRUTH_RATIO_FORMS),
    seed: f.num(o, 'seed', 'seed'),
    max_new_tokens: f.record(o, 'max_new_tokens', 'max_new_tokens', (parent, k, p) => f.num(parent, k, p)),
  };
}

/** One JSON object per non-blank line; a bad line is an error naming file and line number. */
export function readTrainLog(file: string): TrainLogEntry[] {
  const entries: TrainLogEntry[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (err) {
      throw new UserError(`${where}: not valid JSON (${(err as Error).message}); ${FIX}`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw new UserError(`${where}: must hold a JSON object (found ${describe(o)}); ${FIX}`);
    }
    const f = new Fields(where);
    const rec = o as Obj;
    entries.push({
      step: f.num(rec, 'step', 'step'),
      epoch: f.numOrNull(rec, 'epoch', 'epoch'),
      loss: f.numOrNull(rec, 'loss', 'loss'),
      lr: f.numOrNull(rec, 'lr', 'lr'),
      phase: f.strOrNull(rec, 'phase', 'phase'),
    });
  });
  return entries;
}

/**
 * <run>/expected-results.json: the evaluations a run's plan will write, recorded when
 * the run starts, so a report on a half-finished run can say what is missing.
 * Evaluation directories are run-relative with forward slashes.
 */
export interface ExpectedResults {
  evaluations: string[];
}

export function readExpectedResults(file: string): ExpectedResults {
  const o = readJsonObject(file);
  const ev = o.evaluations;
  if (!Array.isArray(ev) || !ev.every((e) => typeof e === 'string' && e !== '' && !e.split('/').includes('..'))) {
    throw new UserError(`${file}: "evaluations" must be a list of run-relative directories; delete the file and run the pipeline again to rewrite it`);
  }
  return { evaluations: ev as string[] };
}
