/**
 * Turns chat samples (question, optional answer, optional image tensor) into the feeds of one VLM batch:
 * ids with the image placeholder expanded, positions, image placement, and next-token targets aligned
 * with the logits (targets[b, t] is the label of position t + 1).
 */
import { type Feeds } from '../engine/session.ts';
import { type Tokenizer } from './tokenizer/tokenizer.ts';
import { IGNORE_LABEL } from '../protocol/vocabulary.ts';
import { collate, encodeChat, expandImagePlaceholder } from './chat.ts';
import { type VLMConfig, imageTokenCount } from './vlm.ts';
import { type ModelBatch } from './model.ts';

export { shapeKey } from './model.ts';

export interface Sample {
  question: string;
  /** Absent for generation prompts. */
  answer?: string;
  /** CHW float32 image tensor (imageSize²·3 values), or null for a text-only sample. */
  image: Float32Array | null;
}

export interface EncodedSample {
  ids: number[];
  labels: number[];
  image: Float32Array | null;
  /** Index of the first image slot, or -1. */
  imageAt: number;
}

export function encodeSample(tok: Pick<Tokenizer, 'encode' | 'special'>, cfg: VLMConfig, s: Sample): EncodedSample {
  const chat = encodeChat(tok, { question: s.question, answer: s.answer, image: s.image !== null });
  if (!s.image) return { ids: chat.ids, labels: chat.labels, image: null, imageAt: -1 };
  const n = imageTokenCount(cfg.vision);
  const ex = expandImagePlaceholder(chat.ids, chat.labels, n, tok.special.image);
  return { ids: ex.ids, labels: ex.labels, image: s.image, imageAt: ex.imagePositions[0] };
}


/** Round a length up so that batches share few distinct shapes (each shape compiles a session). */
export function bucketLength(n: number, multiple = 8): number {
  return Math.ceil(n / multiple) * multiple;
}

/**
 * Collate encoded samples (all with images or all without) into one batch. Right padding for training
 * and teacher-forced scoring; left padding (with a key mask) for batched generation prompts.
 */
export function makeBatch(cfg: VLMConfig, samples: readonly EncodedSample[], opts: { padSide: 'right' | 'left'; padTo?: number }): ModelBatch {
  const withImage = samples[0].image !== null;
  if (samples.some((s) => (s.image !== null) !== withImage)) throw new Error('a batch mixes image and text-only samples');
  const longest = Math.max(...samples.map((s) => s.ids.length));
  const S = opts.padTo ?? bucketLength(longest);
  const c = collate(samples, { padSide: opts.padSide, padTo: S });
  const { B } = c;
  const targets = new BigInt64Array(B * S).fill(BigInt(IGNORE_LABEL));
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < S; t++) targets[b * S + t] = c.labels[b * S + t + 1];
  const keyMask = opts.padSide === 'left';
  const feeds: Feeds = { ids: c.inputIds, positions: c.positionIds };
  if (keyMask) feeds.key_mask = c.attentionMask;
  if (withImage) {
    const n = imageTokenCount(cfg.vision);
    const size = 3 * cfg.vision.imageSize ** 2;
    const images = new Float32Array(B * size);
    const index = new BigInt64Array(B * S);
    const slot = new Float32Array(B * S);
    samples.forEach((s, b) => {
      images.set(s.image!, b * size);
      const shift = opts.padSide === 'left' ? S - c.lengths[b] : 0;
      for (let k = 0; k < n; k++) {
        index[b * S + shift + s.imageAt + k] = BigInt(k);
        slot[b * S + shift + s.imageAt + k] = 1;
      }
    });
    feeds.images = images;
    feeds.image_index = index;
    feeds.image_slot = slot;
  }
  return { shape: { B, S, image: withImage, keyMask }, feeds, targets, lengths: c.lengths };
}

