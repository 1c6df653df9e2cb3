/**
 * What one worker process runs: a JSON job spec the pipeline writes next to the job's log. Paths are
 * absolute; the ORT thread budget comes from the worker's CLEARBENCH_THREADS, not from the spec.
 */
import { type ModelMeta } from '../../report/contract.ts';
import { type ForgetSplit, type Modality, type RecipeName } from '../../train/recipes.ts';
import { type PresetName } from '../../models/vlm.ts';
import { type LoraConfig } from '../../models/lora.ts';
import { type OptimizerConfig } from '../../engine/optim.ts';

/** meta.json without the wall time, which the worker measures. */
export type MetaDraft = Omit<ModelMeta, 'wall_s'>;

export interface TrainJob {
  kind: 'train';
  recipe: RecipeName;
  dataDir: string;
  modelDir: string;
  from: string | null;
  preset: PresetName;
  vocabSize: number;
  split: ForgetSplit | null;
  modality: Modality;
  epochs: number;
  lr: number;
  batchSize: number;
  /** Fraction of the pretraining examples replayed each epoch (target, gold). */
  replay: number;
  seed: number;
  meta: MetaDraft;
}

export interface UnlearnJob {
  kind: 'unlearn';
  method: string;
  /** Plugin specs as the config lists them (absolute paths or package names). */
  plugins: string[];
  hyperparameters: Record<string, unknown>;
  from: string;
  dataDir: string;
  modelDir: string;
  split: ForgetSplit;
  modality: Modality;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  maxGradNorm: number | null;
  lora: LoraConfig | null;
  l1Lambda: number;
  frozen: string[];
  seed: number;
  meta: MetaDraft;
}

export interface EvalJob {
  kind: 'eval';
  modelDir: string;
  modelName: string;
  dataDir: string;
  benchmark: string;
  split: ForgetSplit;
  /** Gold's evaluation directory, or 'self' for the gold model itself (forget quality against its own evaluation). */
  gold: string | 'self';
  outDir: string;
  dsSize: number;
  maxNewTokens: number | null;
  seed: number;
  relearn: number;
  truthRatio: 'tofu' | 'clear-code';
  batchSize: number;
}

export type JobSpec = TrainJob | UnlearnJob | EvalJob;

/** Progress a worker reports to the pipeline over IPC. */
export interface JobProgress {
  type: 'progress';
  value: number;
  total: number;
  info: string;
}
