/**
 * The supervised training loop: seeded shuffling, length-bucketed batches of one modality each (a batch
 * shape compiles one session), answer-token cross-entropy, per-step JSONL logs and a progress callback.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Graph } from '../engine/graph.ts';
import { bindParams } from '../engine/params.ts';
import { Trainer, type OptimizerOptions } from '../engine/step.ts';
import { tokenCE } from '../engine/losses.ts';
import { stopOnNonFinite } from '../engine/non-finite.ts';
import { type LoadedModel, type ModelBatch, shapeKey } from '../models/model.ts';
import { Rng } from '../util/rng.ts';
import { type Example, type ImageTensors, questionFor } from './examples.ts';

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

/**
 * The batches of one epoch, as index lists: per modality, shuffle and split; then shuffle the batch order.
 * With `length`, chunks of 16 batches are sorted by length before the split (little padding; training);
 * unlearning batches its forget samples unsorted. Chunks are whole batches, so an epoch always has
 * ceil(images / B) + ceil(texts / B) batches.
 */
export function epochBatches(items: readonly { image: unknown }[], batchSize: number, rng: Rng, length?: (i: number) => number): number[][] {
  const batches: number[][] = [];
  for (const withImage of [true, false]) {
    const order = rng.shuffle(items.map((_, i) => i).filter((i) => (items[i].image !== null) === withImage));
    const chunk = length ? batchSize * 16 : order.length;
    for (let c = 0; c < order.length; c += chunk) {
      const part = length ? order.slice(c, c + chunk).sort((a, b) => length(a) - length(b) || a - b) : order;
      for (let i = 0; i < part.length; i += batchSize) batches.push(part.slice(i, i + batchSize));
    }
  }
  return rng.shuffle(batches);
}

/** epochBatches of encoded samples, length-sorted. */
export function lengthSortedBatches(encoded: readonly { ids: readonly number[]; image: unknown }[], batchSize: number, rng: Rng): number[][] {
  return epochBatches(encoded, batchSize, rng, (i) => encoded[i].ids.length);
}

export function batchesPerEpoch(examples: readonly Pick<Example, 'image'>[], batchSize: number, replay?: Replay): number {
  const used = epochExamples(examples, replay, 0, 0).map((i) => examples[i]);
  const images = used.filter((e) => e.image).length;
  return Math.ceil(images / batchSize) + Math.ceil((used.length - images) / batchSize);
}

/** The loss graph of one batch shape: mean answer-token cross-entropy. */
export function lmLossBuilder(model: LoadedModel, batch: ModelBatch) {
  return (g: Graph) => {
    const x = model.declareInputs(g, batch.shape);
    const targets = g.input('targets', [batch.shape.B, batch.shape.S], 'int64');
    const { logits } = model.forward(g, bindParams(g, model.params), x);
    return { loss: tokenCE(logits, targets) };
  };
}

/** Examples (by index) as the model takes them, with the question the epoch asks. */
export function encodeExamples(model: LoadedModel, examples: readonly Example[], indices: readonly number[], images: ImageTensors, seed: number, epoch: number) {
  return indices.map((i) => {
    const ex = examples[i];
    return model.encode({ question: questionFor(ex, seed, epoch, i), answer: ex.answer, image: ex.image ? images.get(ex.image)! : null });
  });
}

/** Train the model's parameters in place. */
export async function trainLoop(model: LoadedModel, examples: readonly Example[], images: ImageTensors, opts: TrainLoopOptions): Promise<TrainSummary> {
  if (!examples.length) throw new Error('no training examples');
  const trainer = await Trainer.create(model.params, opts.optimizer);
  const perEpoch = (epochSeedRng: Rng, epoch: number) => {
    const encoded = encodeExamples(model, examples, epochExamples(examples, opts.replay, opts.seed, epoch), images, opts.seed, epoch);
    return { encoded, batches: lengthSortedBatches(encoded, opts.batchSize, epochSeedRng) };
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
      const batch = model.batch(idx.map((i) => encoded[i]), { padSide: 'right' });
      const ts = performance.now();
      const r = await trainer.run(shapeKey(batch.shape), lmLossBuilder(model, batch), { ...batch.feeds, targets: batch.targets }).catch((e: unknown) => {
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
