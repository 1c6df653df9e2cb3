/**
 * What a trained model knows, measured as the README reports it: greedy generation (KV cache, image in the
 * input) of the person's name for face images (exact match) and of training captions (ROUGE-L recall),
 * on the forget and the retain persons of a split.
 */
import { openClear } from '../data/dataset.ts';
import { TensorCache } from '../data/tensor-cache.ts';
import { type CaptionRow } from '../data/schema.ts';
import { loadModel } from '../models/model-kinds.ts';
import { Generator } from '../models/generate.ts';
import { CAPTION_QUESTIONS, FACE_PROMPT } from '../models/chat.ts';
import { rougeLRecall } from '../eval/metrics/rouge.ts';
import { prepareImages } from '../train/examples.ts';
import { DEFAULT_FORGET_SPLIT, type ForgetSplit, RETAIN_SPLIT_OF } from '../protocol/vocabulary.ts';

export interface RecallSet {
  persons: number;
  images: number;
  /** Share of images whose greedy answer to the face prompt is exactly the name. */
  name_exact: number;
  /** Mean ROUGE-L recall of greedy captions against the training captions. */
  caption_rougeL_recall: number;
}

export interface RecallResult {
  model: string;
  split: ForgetSplit;
  forget: RecallSet;
  retain: RecallSet;
  seconds: number;
}

export async function benchRecall(opts: { model: string; dataDir: string; split?: ForgetSplit; maxImages?: number; threads?: number }): Promise<RecallResult> {
  const t0 = performance.now();
  const split = opts.split ?? DEFAULT_FORGET_SPLIT;
  const model = loadModel(opts.model);
  const gen = new Generator(model, { threads: opts.threads });
  const clear = await openClear(opts.dataDir);
  const measure = async (config: string): Promise<RecallSet> => {
    const rows = ((await clear.loadConfig(config)) as CaptionRow[]).slice(0, opts.maxImages ?? 200);
    const images = await prepareImages(model, rows, TensorCache.default());
    const img = (r: CaptionRow) => images.get(r.image)!;
    const names = await gen.generate(model.tokenizer, rows.map((r) => ({ question: FACE_PROMPT, image: img(r) })), { maxNewTokens: 16 });
    const caps = await gen.generate(model.tokenizer, rows.map((r, i) => ({ question: CAPTION_QUESTIONS[i % CAPTION_QUESTIONS.length], image: img(r) })), { maxNewTokens: 64 });
    return {
      persons: new Set(rows.map((r) => r.name)).size,
      images: rows.length,
      name_exact: rows.filter((r, i) => names[i].text.trim() === r.name).length / rows.length,
      caption_rougeL_recall: rows.reduce((a, r, i) => a + rougeLRecall(r.caption, caps[i].text), 0) / rows.length,
    };
  };
  const forget = await measure(split);
  const retain = await measure(RETAIN_SPLIT_OF[split]);
  return { model: opts.model, split, forget, retain, seconds: (performance.now() - t0) / 1000 };
}
