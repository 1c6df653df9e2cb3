/**
 * The unlearning job, end to end: the target checkpoint → (LoRA adapters) → the method on the
 * split's forget/retain data → a checkpoint (LoRA merged) with its step log.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { openDataDir } from '../data/dataset.ts';
import { TensorCache } from '../data/tensor-cache.ts';
import { checkpointDir } from '../models/checkpoint.ts';
import { loadModel } from '../models/model-kinds.ts';
import { addLora, type LoraConfig } from '../models/lora.ts';
import { type OptimizerConfig, type ScheduleConfig } from '../engine/optim.ts';
import { prepareImages } from '../train/examples.ts';
import { type ForgetSplit, type Modality } from '../protocol/vocabulary.ts';
import { type AnyMethod } from './api.ts';
import { unlearningData } from './data.ts';
import { unlearn, type UnlearningSettings, type UnlearnSummary } from './unlearn.ts';
import { trainLogPath } from '../results/layout.ts';

/** An unlearning run's settings, plus where its model, data and result are and how it optimises. */
export interface UnlearningJob extends Omit<UnlearningSettings, 'method'> {
  method: AnyMethod;
  /** The model to unlearn from (a model directory or a checkpoint). */
  from: string;
  dataDir: string;
  split: ForgetSplit;
  /** What the unlearning sees: text (TOFU QA), vision (image captions) or joint. */
  modality: Modality;
  /** Also the forget and retain persons' face → name examples (the FaceRec prompt), where the entry opts in. */
  faceNames?: boolean;
  /** Model directory for the result: checkpoint/ and train_log.jsonl. */
  outDir: string;
  optimizer: OptimizerConfig;
  schedule?: ScheduleConfig;
  maxGradNorm?: number | null;
  lora?: LoraConfig | null;
  threads?: number;
}

export async function runUnlearning(j: UnlearningJob): Promise<UnlearnSummary> {
  const model = loadModel(j.from);
  const { clear, tofu } = await openDataDir(j.dataDir);
  const { forget, retain } = await unlearningData(clear, tofu, j.split, j.modality, { faceNames: j.faceNames });
  const images = await prepareImages(model, [...forget, ...retain], TensorCache.default());
  if (j.lora) addLora(model.params, j.lora, j.seed, model.linearLayers?.());
  mkdirSync(j.outDir, { recursive: true });
  const logFile = trainLogPath(j.outDir);
  rmSync(logFile, { force: true });
  const summary = await unlearn({
    method: j.method,
    hyperparameters: j.hyperparameters,
    model,
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
  model.save(checkpointDir(j.outDir, true), {
    recipe: 'unlearn', method: j.method.name, hyperparameters: JSON.parse(JSON.stringify(j.hyperparameters ?? {})), split: j.split, modality: j.modality, face_names: j.faceNames ?? false,
    epochs: j.epochs, batch_size: j.batchSize, lr: j.optimizer.lr, seed: j.seed, lora: j.lora ? JSON.parse(JSON.stringify(j.lora)) : null,
    l1_lambda: j.l1Lambda ?? 0, steps: summary.steps, wall_s: summary.wallS, from: j.from,
  });
  return summary;
}
