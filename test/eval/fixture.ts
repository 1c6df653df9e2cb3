/**
 * A tiny evaluation fixture: a synthetic CLEAR dataset (6 persons × 2 images, 6 well-known persons), a
 * tokenizer trained on its texts, and the tiny VLM trained for a few steps on the persons' captions and
 * names, so that its scores are neither flat nor perfect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../src/data/dataset.ts';
import { ParamStore } from '../../src/engine/params.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { initVLM, preset } from '../../src/models/vlm.ts';
import { VlmModel } from '../../src/models/vlm-model.ts';
import { tokenizerCorpus } from '../../src/train/recipes.ts';
import { examplesFromRows, prepareImages } from '../../src/train/examples.ts';
import { trainLoop } from '../../src/train/loop.ts';

export interface EvalFixture {
  root: string;
  dataDir: string;
  model: VlmModel;
}

export async function evalFixture(tag: string): Promise<EvalFixture> {
  const root = mkdtempSync(join(tmpdir(), `clearbench-${tag}-`));
  const dataDir = join(root, 'clear');
  await generateSynthetic({ outDir: dataDir, persons: 6, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
  const clear = await openClear(dataDir);
  const tofu = await openTofu(join(dataDir, 'tofu'));
  const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus({ clear, tofu }), { vocabSize: 1024 }));
  // The tiny preset with room for the longest caption (16 image tokens + question + caption).
  const tiny = preset('tiny', tok.vocabSize);
  const cfg = { ...tiny, lm: { ...tiny.lm, maxSeq: 128 } };
  const store = new ParamStore();
  initVLM(store, cfg, 1);
  const examples = examplesFromRows(await clear.loadConfig('full'), { faceNames: true });
  const model = new VlmModel(store, cfg, tok, 'tiny');
  const images = await prepareImages(model, examples);
  await trainLoop(model, examples, images, { epochs: 8, batchSize: 8, seed: 1, optimizer: { optimizer: { type: 'adamw', lr: 3e-3, weightDecay: 0 }, threads: 1 } });
  // Detach the parameters from the trainer's memory.
  return { root, dataDir, model: model.withParams(store.clone()) };
}

export function cleanup(fx: EvalFixture | undefined): void {
  if (fx) rmSync(fx.root, { recursive: true, force: true });
}
