/**
 * A model to evaluate from a directory: a model directory (`<dir>/checkpoint/` as `clearbench train` writes
 * it) or a checkpoint directory itself, loaded by the model kind its config.json names (models/model-kinds.ts).
 */
import { basename, dirname } from 'node:path';
import { checkpointDir } from '../models/checkpoint.ts';
import { loadModel as loadModelDir } from '../models/model-kinds.ts';
import { type Model } from './score.ts';
import { CHECKPOINT_DIR } from '../results/layout.ts';

export interface ModelLocation {
  /** The checkpoint directory (config.json, model.safetensors, tokenizer.json). */
  checkpoint: string;
  /** The model directory (holds checkpoint/, train_log.jsonl and eval/); the model's name is its base name. */
  modelDir: string;
}

export function locateModel(dir: string): ModelLocation {
  const checkpoint = checkpointDir(dir);
  // A checkpoint passed directly: its model directory is the parent when it sits in the standard `checkpoint/`.
  const modelDir = checkpoint === dir && basename(dir) === CHECKPOINT_DIR ? dirname(dir) : dir;
  return { checkpoint, modelDir };
}

export async function loadModel(dir: string): Promise<Model> {
  return loadModelDir(locateModel(dir).checkpoint);
}
