/**
 * The rows of one evaluation task: load the config, keep its first `ds_size` rows, read the ground-truth,
 * paraphrase and perturbed columns, choose each row's question (seeded per eval seed and row index) and
 * decode its image.
 */
import { type Dataset } from '../data/dataset.ts';
import { type ImageCell } from '../data/schema.ts';
import { type TensorCache } from '../data/tensor-cache.ts';
import { chooseQuestion } from '../models/chat.ts';
import { type LoadedModel } from '../models/model.ts';
import { UserError } from '../util/errors.ts';
import { type TaskSpec } from './benchmark.ts';

/** Where task rows come from. */
export interface TaskSources {
  clear: Dataset<'clear'>;
  /** The TOFU text companion (`<data>/tofu`), when present. */
  tofu: Dataset<'tofu'> | null;
  /** The evaluated model's image preprocessing (model.ts). */
  model: Pick<LoadedModel, 'preprocessImages'>;
  /** Disk cache of decoded image tensors. */
  cache?: TensorCache;
}

export type TaskRow = Record<string, unknown>;

/** One evaluation sample, ready to be scored and generated. */
export interface EvalItem {
  /** Row index in the config. */
  index: number;
  question: string;
  groundTruth: string;
  paraphrase: string;
  perturbed: string[];
  image: Float32Array | null;
}

/** The first `dsSize` rows of a task's config (the config name given separately: the split is resolved). */
export async function loadTaskRows(sources: TaskSources, task: TaskSpec, config: string, dsSize: number): Promise<TaskRow[]> {
  const ds = task.dataset === 'clear' ? sources.clear : sources.tofu;
  if (!ds) {
    throw new UserError(`task ${task.id} needs the TOFU text configs, but the dataset has no tofu/ directory; evaluate --benchmark clear or regenerate the data with clearbench synth`);
  }
  const rows = (await ds.loadConfig(config)) as unknown as TaskRow[];
  if (rows.length === 0) throw new UserError(`task ${task.id}: config ${config} has no rows; regenerate or re-download the dataset`);
  return rows.slice(0, dsSize);
}

function text(task: TaskSpec, config: string, row: TaskRow, i: number, column: string): string {
  const v = row[column];
  if (typeof v !== 'string' || v.length === 0) {
    throw new UserError(`task ${task.id}: row ${i} of ${config} has no text in column "${column}"; the config lacks a column the task needs, regenerate or re-download it`);
  }
  return v;
}

function texts(task: TaskSpec, config: string, row: TaskRow, i: number, column: string): string[] {
  const v = row[column];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    throw new UserError(`task ${task.id}: row ${i} of ${config} has no list of texts in column "${column}"; the config lacks a column the task needs, regenerate or re-download it`);
  }
  return v as string[];
}

/** Image tensors of rows, preprocessed as the model takes them, one per row. */
export async function rowImages(task: TaskSpec, config: string, rows: readonly TaskRow[], sources: TaskSources): Promise<Float32Array[]> {
  const cells = rows.map((r, i) => {
    const cell = r.image as ImageCell | null | undefined;
    if (!cell || !(cell.bytes instanceof Uint8Array)) {
      throw new UserError(`task ${task.id}: row ${i} of ${config} has no image; image tasks need the image column, regenerate or re-download the dataset`);
    }
    return { bytes: cell.bytes, source: `${config}, row ${i}` };
  });
  return sources.model.preprocessImages(cells, sources.cache);
}

/**
 * The eval samples of rows. `gtOnly` reads only the ground truth (the membership-inference holdout needs
 * nothing else); paraphrase and perturbed answers are then empty.
 */
export async function taskItems(task: TaskSpec, config: string, rows: readonly TaskRow[], sources: TaskSources, seed: number, opts: { gtOnly?: boolean } = {}): Promise<EvalItem[]> {
  const images = task.image ? await rowImages(task, config, rows, sources) : null;
  return rows.map((row, index) => ({
    index,
    question: chooseQuestion(task.question, { seed, index, row: row as { question?: string | null } }),
    groundTruth: text(task, config, row, index, task.groundTruth),
    paraphrase: opts.gtOnly ? '' : text(task, config, row, index, task.paraphrase),
    perturbed: opts.gtOnly ? [] : texts(task, config, row, index, task.perturbed),
    image: images ? images[index] : null,
  }));
}
