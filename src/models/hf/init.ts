/**
 * Random weights for a Hugging Face decoder or LLaVA config, initialised as transformers' _init_weights does
 * (normal(0, initializer_range) for projections and embeddings, norms 1, biases 0): tests, benchmarks, and
 * a config.json without weights.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParamStore } from '../../engine/params.ts';
import { Rng } from '../../util/rng.ts';
import { normalInit } from '../transformer.ts';
import { type HfDecoderConfig } from './config.ts';
import { decoderParamShapes } from './decoder.ts';
import { HfCausalLM, loadHfModel, loadHfTokenizer } from './hf-model.ts';
import { parseHfConfig } from './config.ts';
import { type LlavaConfig, parseLlavaConfig } from './llava-config.ts';
import { LlavaModel, llavaParamShapes, loadLlavaModel } from './llava-model.ts';
import { type LlavaLayout } from './llava-weights.ts';
import { defaultPreprocessor, parsePreprocessor } from './preprocessor.ts';

export function initHfParams(c: HfDecoderConfig, seed: number, std = 0.02): ParamStore {
  return initByRule(decoderParamShapes(c), Rng.derive(seed, 'hf-init'), std, (name) => name.endsWith('norm.weight'));
}

/** transformers' rule: norm weights 1, biases 0, every other tensor normal(0, std), in the order given. */
function initByRule(shapes: Iterable<{ name: string; shape: number[] }>, rng: Rng, std: number, isNormWeight: (name: string) => boolean): ParamStore {
  const store = new ParamStore();
  for (const { name, shape } of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (isNormWeight(name)) store.add(name, shape, new Float32Array(n).fill(1));
    else if (name.endsWith('.bias')) store.add(name, shape);
    else store.add(name, shape, normalInit(rng, n, std));
  }
  return store;
}

export interface RandomHfCheckpoint {
  config: Record<string, unknown>;
  tokenizer: object;
  tokenizerConfig: Record<string, unknown>;
}

/** Write a complete hub-layout checkpoint directory with random weights; returns the loaded model. */
export function writeRandomHfCheckpoint(dir: string, files: RandomHfCheckpoint, seed: number): HfCausalLM {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(files.config, null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(files.tokenizerConfig, null, 2)}\n`);
  const c = parseHfConfig(files.config, join(dir, 'config.json'));
  const model = new HfCausalLM(initHfParams(c, seed, typeof files.config.initializer_range === 'number' ? files.config.initializer_range : 0.02), {
    rawConfig: files.config, config: c, tok: loadHfTokenizer(dir), carried: new Map(),
  });
  model.save(dir);
  return loadHfModel(dir);
}

/**
 * Random weights for a LLaVA config: the same rule as initHfParams over every tensor the forward reads
 * (LayerNorm weights 1, biases 0, the rest normal(0, std)). The tower's layers past the feature layer and
 * post_layernorm, which nothing reads, are not written.
 */
export function initLlavaParams(c: LlavaConfig, seed: number, std = 0.02): ParamStore {
  return initByRule(llavaParamShapes(c), Rng.derive(seed, 'llava-init'), std, (name) => /(norm|layrnorm|layer_norm\d)\.weight$/.test(name));
}

export interface RandomLlavaCheckpoint extends RandomHfCheckpoint {
  /** preprocessor_config.json (CLIPImageProcessor's defaults at the tower's size when absent). */
  preprocessorConfig?: Record<string, unknown>;
  /** Weight names: the current layout (transformers ≥ 4.52) by default. */
  layout?: LlavaLayout;
}

/** Write a complete LLaVA checkpoint directory with random weights; returns the loaded model. */
export function writeRandomLlavaCheckpoint(dir: string, files: RandomLlavaCheckpoint, seed: number): LlavaModel {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(files.config, null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(files.tokenizerConfig, null, 2)}\n`);
  if (files.preprocessorConfig) writeFileSync(join(dir, 'preprocessor_config.json'), `${JSON.stringify(files.preprocessorConfig, null, 2)}\n`);
  const config = parseLlavaConfig(files.config, join(dir, 'config.json'));
  const std = typeof files.config.initializer_range === 'number' ? files.config.initializer_range : 0.02;
  const model = new LlavaModel(initLlavaParams(config, seed, std), {
    dir, rawConfig: files.config, config, tok: loadHfTokenizer(dir, config.imageTokenId), layout: files.layout ?? 'current', unused: new Map(), carried: new Map(),
    preprocessor: files.preprocessorConfig ? parsePreprocessor(files.preprocessorConfig, 'preprocessor_config.json', config.vision.imageSize) : defaultPreprocessor(config.vision.imageSize),
  });
  model.save(dir);
  return loadLlavaModel(dir);
}
