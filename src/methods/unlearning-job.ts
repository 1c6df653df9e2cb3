/**
 * The unlearning job, end to end: the target checkpoint → (LoRA adapters) → the method on the
 * split's forget/retain data → a checkpoint (LoRA merged) with its step log.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { openDataDir } from '../data/dataset.ts';
import { TensorCache } from '../data/tensor-cache.ts';
import { checkpointDir, loadCheckpoint, saveCheckpoint } from '../models/checkpoint.ts';
import { addLora, type LoraConfig } from '../models/lora.ts';
import { type OptimizerConfig, type ScheduleConfig } from '../engine/optim.ts';
import { prepareImages } from '../train/loop.ts';
import { type ForgetSplit, type Modality } from '../protocol/vocabulary.ts';
import { type AnyMethod } from './api.ts';
import { unlearningData } from './data.ts';
import { unlearn, type UnlearnStepLog, type UnlearnSummary } from './unlearn.ts';
import { trainLogPath } from '../results/layout.ts';

export interface UnlearningJob {
  method: AnyMethod;
  hyperparameters?: Record<string, unknown>;
  /** The model to unlearn from (a model directory or a checkpoint). */
  from: string;
  dataDir: string;
  split: ForgetSplit;
  modality: Modality;
  /** Model directory for the result: checkpoint/ and train_log.jsonl. */
  outDir: string;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule?: ScheduleConfig;
  maxGradNorm?: number | null;
  seed: number;
  lora?: LoraConfig | null;
  l1Lambda?: number;
  frozen?: readonly string[];
  threads?: number;
  onStep?: (s: UnlearnStepLog) => void;
}

export async function runUnlearning(j: UnlearningJob): Promise<UnlearnSummary> {
  const ckpt = loadCheckpoint(checkpointDir(j.from));
  const { store, tokenizer: tok } = ckpt;
  const cfg = ckpt.config.model;
  const { clear, tofu } = await openDataDir(j.dataDir);
  const { forget, retain } = await unlearningData(clear, tofu, j.split, j.modality);
  const images = await prepareImages([...forget, ...retain], cfg.vision.imageSize, TensorCache.default());
  if (j.lora) addLora(store, j.lora, j.seed);
  mkdirSync(j.outDir, { recursive: true });
  const logFile = trainLogPath(j.outDir);
  rmSync(logFile, { force: true });
  const summary = await unlearn({
    method: j.method,
    hyperparameters: j.hyperparameters,
    store,
    cfg,
    tok,
    forget,
    retain,
    images,
    epochs: j.epochs,
    batchSize: j.batchSize,
    seed: j.seed,
    frozen: j.frozen,
    l1Lambda: j.l1Lambda,
    logFile,
    onStep: j.onStep,
    optimizer: { optimizer: j.optimizer, schedule: j.schedule, maxGradNorm: j.maxGradNorm ?? 1, threads: j.threads },
  });
  saveCheckpoint(checkpointDir(j.outDir, true), {
    store,
    config: cfg,
    tokenizer: tok,
    preset: ckpt.config.preset,
    training: {
      recipe: 'unlearn', method: j.method.name, hyperparameters: JSON.parse(JSON.stringify(j.hyperparameters ?? {})), split: j.split, modality: j.modality,
      epochs: j.epochs, batch_size: j.batchSize, lr: j.optimizer.lr, seed: j.seed, lora: j.lora ? JSON.parse(JSON.stringify(j.lora)) : null,
      l1_lambda: j.l1Lambda ?? 0, steps: summary.steps, wall_s: summary.wallS, from: j.from,
    },
  });
  return summary;
}
