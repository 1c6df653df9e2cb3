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
import { initVLM, preset, type PresetName, type VLMConfig } from '../../src/models/vlm.ts';
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
  return trainedTarget({ preset: 'tiny', persons: 4, imagesPerPerson: 2, epochs: 12, lr: 3e-3 });
}

/** A target of any preset: a synthetic dataset of `persons`, a tokenizer, and the model trained on every person. */
export async function trainedTarget(o: { preset: PresetName; persons: number; imagesPerPerson: number; epochs: number; lr: number }): Promise<TinyTarget> {
  const dir = mkdtempSync(join(tmpdir(), `clearbench-${o.preset}-target-`));
  await generateSynthetic({ outDir: dir, persons: o.persons, imagesPerPerson: o.imagesPerPerson, wellKnown: 6, seed: 3 });
  const clear = await openClear(dir);
  const tofu = await openTofu(join(dir, 'tofu'));
  const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus({ clear, tofu }), { vocabSize: 400 }));
  const cfg = preset(o.preset, tok.vocabSize);
  const store = new ParamStore();
  initVLM(store, cfg, 1);
  // Face names too: the target knows every person's face, as the target recipe teaches it.
  const { forget, retain } = await unlearningData(clear, tofu, 'forget10', 'joint', { faceNames: true });
  const model = new VlmModel(store, cfg, tok, o.preset);
  const images = await prepareImages(model, [...forget, ...retain]);
  await trainLoop(model, [...forget, ...retain], images, {
    epochs: o.epochs,
    batchSize: 8,
    seed: 1,
    optimizer: { optimizer: { type: 'adamw', lr: o.lr, weightDecay: 0 }, maxGradNorm: 1, threads: 1 },
  });
  return { model, store, cfg, tok, forget, retain, images };
}
