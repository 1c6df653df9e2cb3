/**
 * A tiny "target" model for method tests: a 4-person synthetic dataset, a tokenizer, and a tiny VLM
 * trained briefly on every person (captions, face names, QA), plus the forget10/retain90 examples.
 * Built once per test file (module cache) and cloned for each test.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../src/data/dataset.ts';
import { ParamStore } from '../../src/engine/params.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { initVLM, preset, type VLMConfig } from '../../src/models/vlm.ts';
import { VlmModel } from '../../src/models/vlm-model.ts';
import { tokenizerCorpus } from '../../src/train/recipes.ts';
import { type Example, type ImageTensors, prepareImages } from '../../src/train/examples.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { unlearningData } from '../../src/methods/data.ts';

export interface TinyTarget {
  /** The model; `store`, `cfg` and `tok` are its parameters (the same object), architecture and tokenizer. */
  model: VlmModel;
  store: ParamStore;
  cfg: VLMConfig;
  tok: Tokenizer;
  forget: Example[];
  retain: Example[];
  images: ImageTensors;
}

let cached: Promise<TinyTarget> | null = null;

export function tinyTarget(): Promise<TinyTarget> {
  cached ??= build();
  return cached.then((t) => {
    const store = t.store.clone();
    return { ...t, store, model: t.model.withParams(store) };
  });
}

async function build(): Promise<TinyTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'clearbench-tiny-'));
  await generateSynthetic({ outDir: dir, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
  const clear = await openClear(dir);
  const tofu = await openTofu(join(dir, 'tofu'));
  const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus({ clear, tofu }), { vocabSize: 400 }));
  const cfg = preset('tiny', tok.vocabSize);
  const store = new ParamStore();
  initVLM(store, cfg, 1);
  const { forget, retain } = await unlearningData(clear, tofu, 'forget10', 'joint');
  const model = new VlmModel(store, cfg, tok, 'tiny');
  const images = await prepareImages(model, [...forget, ...retain]);
  await trainLoop(model, [...forget, ...retain], images, {
    epochs: 12,
    batchSize: 8,
    seed: 1,
    optimizer: { optimizer: { type: 'adamw', lr: 3e-3, weightDecay: 0 }, maxGradNorm: 1, threads: 1 },
  });
  return { model, store, cfg, tok, forget, retain, images };
}
