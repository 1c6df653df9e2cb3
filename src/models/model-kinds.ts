/**
 * Which ModelKind reads a checkpoint: the `format` its config.json names. A new architecture registers here
 * and every layer that loads a model (training from a base, unlearning, evaluation, export, the benchmarks)
 * can use it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { CONFIG_FILE, checkpointDir } from './checkpoint.ts';
import { type LoadedModel, type ModelKind } from './model.ts';
import { VLM_KIND } from './vlm-model.ts';
import { HF_KIND, HF_KIND_ID, isHfConfig } from './hf/hf-model.ts';
import { LLAVA_KIND, LLAVA_KIND_ID } from './hf/llava-model.ts';
import { isLlavaConfig } from './hf/llava-config.ts';

export const MODEL_KINDS: readonly ModelKind[] = [VLM_KIND, HF_KIND, LLAVA_KIND];

/**
 * The format config.json declares (a Hugging Face config, which names `architectures` and no format, is the
 * HF kind, or the LLaVA kind for LlavaForConditionalGeneration), or undefined when it cannot be read (the default kind then says what is wrong).
 */
function declaredFormat(dir: string): unknown {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { format?: unknown } | null;
    return isLlavaConfig(json) ? LLAVA_KIND_ID : isHfConfig(json) ? HF_KIND_ID : json?.format;
  } catch {
    return undefined;
  }
}

/** The kind a checkpoint directory's config.json names. */
export function modelKindOf(checkpoint: string): ModelKind {
  const format = declaredFormat(checkpoint);
  if (format === undefined) return MODEL_KINDS[0];
  const kind = MODEL_KINDS.find((k) => k.id === format);
  if (!kind) {
    throw new UserError(
      `${join(checkpoint, CONFIG_FILE)}: format ${JSON.stringify(format)} is not a model kind this clearbench reads (${MODEL_KINDS.map((k) => k.id).join(', ')}); point at a clearbench checkpoint or re-save it`,
    );
  }
  return kind;
}

/**
 * Load a model from a model directory (`<dir>/checkpoint/`) or a checkpoint directory.
 * @throws UserError naming the missing or corrupt file and the fix.
 */
export function loadModel(dir: string): LoadedModel {
  const checkpoint = checkpointDir(dir);
  return modelKindOf(checkpoint).load(checkpoint);
}
