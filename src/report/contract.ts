/**
 * The results contract: the shapes of the files the pipeline and the evaluator write
 * into a run directory, and strict readers for them. The report reads nothing else
 * (never a model), so every table can be rebuilt from these files alone.
 *
 *   <run>/models/<model>/meta.json
 *   <run>/models/<model>/train_log.jsonl
 *   <run>/models/<model>/eval/<benchmark>-<forget_split>/summary.json
 *
 * Optional sections (privacy, extraction, relearn, timing) may be null or absent;
 * a present key of the wrong type is an error naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../util/errors.ts';

export const ROLES = ['base', 'target', 'gold', 'unlearned'] as const;
export type Role = (typeof ROLES)[number];

export interface ModelMeta {
  name: string;
  role: Role;
  method: string | null;
  hyperparameters: Record<string, unknown>;
  seed: number | null;
  /** Models with the same group are one configuration run with different seeds. */
  group: string | null;
  forget_split: string | null;
  modality: string | null;
  wall_s: number | null;
}

export interface TaskScores {
  prob: number;
  rougeL_recall: number;
  truth_ratio: number;
  n: number;
}

export interface EvalSummary {
  benchmark: string;
  forget_split: string;
  model: string | null;
  tasks: Record<string, TaskScores>;
  model_utility: number;
  forget_quality_ks: number | null;
  forget_quality_js: number | null;
  /** forget_clear_code: the CLEAR code's Forget formula; null in summaries written before it was added. */
  paper: { real: number; retain: number; forget: number; forget_clear_code: number | null; forget_quality: number | null };
  privacy: {
    privleak: number | null;
    mia_auc: { loss: number; zlib: number; min_k: number; min_k_pp: number } | null;
  } | null;
  extraction: { extraction_strength: number; exact_memorization: number } | null;
  relearn: { steps: number; forget_prob_before: number; forget_prob_after: number; recovery: number } | null;
  timing: { scoring_s: number; generation_s: number } | null;
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
  const role = f.str(o, 'role', 'role');
  if (!(ROLES as readonly string[]).includes(role)) f.fail('role', `one of ${ROLES.join(', ')}`, role);
  const method = f.strOrNull(o, 'method', 'method');
  if (role === 'unlearned' && method === null) f.fail('method', 'the unlearning method for an unlearned model', o.method);
  return {
    name: f.str(o, 'name', 'name'),
    role: role as Role,
    method,
    hyperparameters: f.objOrNull(o, 'hyperparameters', 'hyperparameters') ?? {},
    seed: f.numOrNull(o, 'seed', 'seed'),
    group: f.strOrNull(o, 'group', 'group'),
    forget_split: f.strOrNull(o, 'forget_split', 'forget_split'),
    modality: f.strOrNull(o, 'modality', 'modality'),
    wall_s: f.numOrNull(o, 'wall_s', 'wall_s'),
  };
}

export function readEvalSummary(file: string): EvalSummary {
  const o = readJsonObject(file);
  const f = new Fields(file);

  const tasksObj = f.obj(o, 'tasks', 'tasks');
  const tasks: Record<string, TaskScores> = {};
  for (const name of Object.keys(tasksObj)) {
    const t = f.obj(tasksObj, name, `tasks.${name}`);
    const p = `tasks.${name}`;
    tasks[name] = {
      prob: f.num(t, 'prob', `${p}.prob`),
      rougeL_recall: f.num(t, 'rougeL_recall', `${p}.rougeL_recall`),
      truth_ratio: f.num(t, 'truth_ratio', `${p}.truth_ratio`),
      n: f.num(t, 'n', `${p}.n`),
    };
  }

  const paper = f.obj(o, 'paper', 'paper');
  const privacy = f.objOrNull(o, 'privacy', 'privacy');
  const mia = privacy ? f.objOrNull(privacy, 'mia_auc', 'privacy.mia_auc') : null;
  const extraction = f.objOrNull(o, 'extraction', 'extraction');
  const relearn = f.objOrNull(o, 'relearn', 'relearn');
  const timing = f.objOrNull(o, 'timing', 'timing');

  return {
    benchmark: f.str(o, 'benchmark', 'benchmark'),
    forget_split: f.str(o, 'forget_split', 'forget_split'),
    model: f.strOrNull(o, 'model', 'model'),
    tasks,
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
    privacy: privacy && {
      privleak: f.numOrNull(privacy, 'privleak', 'privacy.privleak'),
      mia_auc: mia && {
        loss: f.num(mia, 'loss', 'privacy.mia_auc.loss'),
        zlib: f.num(mia, 'zlib', 'privacy.mia_auc.zlib'),
        min_k: f.num(mia, 'min_k', 'privacy.mia_auc.min_k'),
        min_k_pp: f.num(mia, 'min_k_pp', 'privacy.mia_auc.min_k_pp'),
      },
    },
    extraction: extraction && {
      extraction_strength: f.num(extraction, 'extraction_strength', 'extraction.extraction_strength'),
      exact_memorization: f.num(extraction, 'exact_memorization', 'extraction.exact_memorization'),
    },
    relearn: relearn && {
      steps: f.num(relearn, 'steps', 'relearn.steps'),
      forget_prob_before: f.num(relearn, 'forget_prob_before', 'relearn.forget_prob_before'),
      forget_prob_after: f.num(relearn, 'forget_prob_after', 'relearn.forget_prob_after'),
      recovery: f.num(relearn, 'recovery', 'relearn.recovery'),
    },
    timing: timing && {
      scoring_s: f.num(timing, 'scoring_s', 'timing.scoring_s'),
      generation_s: f.num(timing, 'generation_s', 'timing.generation_s'),
    },
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
