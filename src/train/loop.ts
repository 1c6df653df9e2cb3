/**
 * The supervised training loop: seeded shuffling, length-bucketed batches of one modality each (a batch
 * shape compiles one session), answer-token cross-entropy, per-step JSONL logs and a progress callback.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Graph } from '../engine/graph.ts';
import { bindParams, type ParamStore } from '../engine/params.ts';
import { Trainer, type OptimizerOptions } from '../engine/step.ts';
import { tokenCE } from '../engine/losses.ts';
import { stopOnNonFinite } from '../engine/non-finite.ts';
import { type Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { type VLMConfig, declareInputs, vlmForward } from '../models/vlm.ts';
import { type EncodedSample, type VLMBatch, encodeSample, makeBatch, shapeKey } from '../models/batch.ts';
import { Rng } from '../util/rng.ts';
import { type Example, questionFor } from './examples.ts';
import { type ImageCell } from '../data/schema.ts';
import { imagesToTensor } from '../data/images.ts';
import { type TensorCache } from '../data/tensor-cache.ts';

export interface TrainLoopOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerOptions;
  seed: number;
  /** Append one JSON line per optimiser step here. */
  logFile?: string;
  /** Extra fields written into every log line (e.g. the phase). */
  logFields?: Record<string, unknown>;
  onStep?: (s: StepLog) => void;
  /** Replay of an earlier stage's examples, sampled afresh each epoch (see epochExamples). */
  replay?: Replay;
  /** Where the caller's user sets the learning rate, named when a step's loss is not finite (e.g. `--lr`). */
  lrSetting?: string;
}

/**
 * Examples [0, count) are replayed from an earlier training stage: each epoch uses a seeded sample of
 * `fraction` of them (as many images and texts each epoch, so every epoch has the same step count)
 * plus every example from `count` on. Replay keeps what the earlier stage taught without paying for
 * all of it every epoch.
 */
export interface Replay {
  count: number;
  fraction: number;
}

/** The example indices an epoch trains on (all of them without replay). */
export function epochExamples(examples: readonly Pick<Example, 'image'>[], replay: Replay | undefined, seed: number, epoch: number): number[] {
  const all = examples.map((_, i) => i);
  if (!replay || replay.fraction >= 1) return all;
  if (!(replay.fraction > 0)) throw new Error(`replay fraction must be in (0, 1] (got ${replay.fraction})`);
  const rng = Rng.derive(seed, `replay/${epoch}`);
  const old = all.slice(0, replay.count);
  const sampled = [true, false].flatMap((withImage) => {
    const part = old.filter((i) => (examples[i].image !== null) === withImage);
    return rng.shuffle(part).slice(0, Math.round(part.length * replay.fraction));
  });
  return [...sampled.sort((a, b) => a - b), ...all.slice(replay.count)];
}

export interface StepLog {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  grad_norm: number | null;
  tokens_per_s: number;
  /** Optimiser steps in the whole run (for progress bars). */
  total_steps: number;
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  /** Mean loss over the last epoch. */
  lastEpochLoss: number;
  wallS: number;
  tokens: number;
}

/** Image tensors by image identity, prepared once (see prepareImages). */
export type ImageTensors = Map<ImageCell, Float32Array>;

/**
 * The batches of one epoch: per modality, shuffle, sort chunks of 16 batches by length (little padding),
 * split; then shuffle the batch order. Chunks are whole batches, so an epoch always has
 * ceil(images / B) + ceil(texts / B) batches.
 */
export function epochBatches(encoded: readonly Pick<EncodedSample, 'ids' | 'image'>[], batchSize: number, rng: Rng): number[][] {
  const batches: number[][] = [];
  for (const withImage of [true, false]) {
    const order = rng.shuffle(encoded.map((_, i) => i).filter((i) => (encoded[i].image !== null) === withImage));
    const chunk = batchSize * 16;
    for (let c = 0; c < order.length; c += chunk) {
      const part = order.slice(c, c + chunk).sort((a, b) => encoded[a].ids.length - encoded[b].ids.length || a - b);
      for (let i = 0; i < part.length; i += batchSize) batches.push(part.slice(i, i + batchSize));
    }
  }
  return rng.shuffle(batches);
}

export function batchesPerEpoch(examples: readonly Pick<Example, 'image'>[], batchSize: number, replay?: Replay): number {
  const used = epochExamples(examples, replay, 0, 0).map((i) => examples[i]);
  const images = used.filter((e) => e.image).length;
  return Math.ceil(images / batchSize) + Math.ceil((used.length - images) / batchSize);
}

/** The loss graph of one batch shape: mean answer-token cross-entropy. */
export function lmLossBuilder(store: ParamStore, cfg: VLMConfig, batch: VLMBatch) {
  return (g: Graph) => {
    const x = declareInputs(g, cfg, batch.shape);
    const targets = g.input('targets', [batch.shape.B, batch.shape.S], 'int64');
    const { logits } = vlmForward(g, bindParams(g, store), cfg, x);
    return { loss: tokenCE(logits, targets) };
  };
}

export async function trainLoop(store: ParamStore, cfg: VLMConfig, tok: Tokenizer, examples: readonly Example[], images: ImageTensors, opts: TrainLoopOptions): Promise<TrainSummary> {
  if (!examples.length) throw new Error('no training examples');
  const trainer = await Trainer.create(store, opts.optimizer);
  const perEpoch = (epochSeedRng: Rng, epoch: number) => {
    const encoded = epochExamples(examples, opts.replay, opts.seed, epoch).map((i) => {
      const ex = examples[i];
      return encodeSample(tok, cfg, { question: questionFor(ex, opts.seed, epoch, i), answer: ex.answer, image: ex.image ? images.get(ex.image)! : null });
    });
    return { encoded, batches: epochBatches(encoded, opts.batchSize, epochSeedRng) };
  };
  const rng = Rng.derive(opts.seed, 'batches');
  const totalSteps = Math.ceil(batchesPerEpoch(examples, opts.batchSize, opts.replay) / (opts.optimizer.accumulate ?? 1)) * opts.epochs;
  if (opts.logFile) mkdirSync(dirname(opts.logFile), { recursive: true });
  const t0 = performance.now();
  let tokens = 0;
  let finalLoss = NaN;
  let lastEpochLoss = NaN;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const { encoded, batches } = perEpoch(rng, epoch);
    let sum = 0;
    for (const idx of batches) {
      const batch = makeBatch(cfg, idx.map((i) => encoded[i]), { padSide: 'right' });
      const ts = performance.now();
      const r = await trainer.run(shapeKey(batch.shape), lmLossBuilder(store, cfg, batch), { ...batch.feeds, targets: batch.targets }).catch((e: unknown) => {
        throw stopOnNonFinite(e, { what: 'training', totalSteps, epoch, epochs: opts.epochs, fix: lowerLr(opts.lrSetting) });
      });
      const real = batch.lengths.reduce((a, b) => a + b, 0);
      tokens += real;
      sum += r.loss;
      finalLoss = r.loss;
      if (r.step === null) continue;
      const log: StepLog = { step: r.step, epoch, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, tokens_per_s: real / ((performance.now() - ts) / 1000), total_steps: totalSteps };
      if (opts.logFile) appendFileSync(opts.logFile, `${JSON.stringify({ ...opts.logFields, ...log })}\n`);
      opts.onStep?.(log);
    }
    lastEpochLoss = sum / batches.length;
  }
  return { steps: trainer.step, finalLoss, lastEpochLoss, wallS: (performance.now() - t0) / 1000, tokens };
}

/** The advice for a non-finite loss: a smaller step is what keeps the weights finite. */
function lowerLr(setting: string | undefined): string {
  return `lower the learning rate${setting ? ` (${setting})` : ''}`;
}

/** Decode and resize every distinct image of the examples once (through the disk cache when given). */
export async function prepareImages(examples: readonly Example[], size: number, cache?: TensorCache): Promise<ImageTensors> {
  const cells = [...new Set(examples.map((e) => e.image).filter((c): c is ImageCell => c !== null))];
  const all = await imagesToTensor(cells.map((c) => ({ bytes: c.bytes, source: c.path ?? undefined })), size, { cache });
  const per = 3 * size * size;
  return new Map(cells.map((c, i) => [c, all.subarray(i * per, (i + 1) * per)]));
}
