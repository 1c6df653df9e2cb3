/**
 * The relearning attack (docs/SPEC.md §5): fine-tune a copy of the evaluated model for a few steps on half of the
 * forget set and measure how much of the forgotten knowledge returns on the other half. Forgetting that
 * comes straight back was suppression, not removal.
 *
 * Halves: rows with an even index (within the capped forget config) train, rows with an odd index are
 * re-scored, so every forget person appears on both sides. Training examples are made as the target recipe
 * makes them (caption with a seeded caption question, and the face prompt → name, or the QA pair for text).
 *
 * recovery = (P_after − P_before) / (1 − P_before), with P the first relearn task's probability on the
 * evaluated half: the share of the probability the model had lost (relative to certainty) that the
 * relearning steps win back. 0 = nothing comes back, 1 = the answers become certain; negative if it drops.
 */
import { type Row } from '../data/schema.ts';
import { Trainer } from '../engine/step.ts';
import { shapeKey } from '../models/model.ts';
import { type Example, examplesFromRows, prepareImages } from '../train/examples.ts';
import { encodeExamples, lengthSortedBatches, lmLossBuilder } from '../train/loop.ts';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { type TruthRatioCompat, type SampleLosses } from './metrics/index.ts';
import { type Model, Scorer } from './score.ts';
import { type TaskSpec } from './benchmark.ts';
import { type EvalItem, type TaskRow, type TaskSources } from './task-data.ts';
import { lossScores } from './task-metrics.ts';
import { EvalTimer, scoreTask } from './task-run.ts';
import { type RelearnSummary } from '../results/contract.ts';

export interface RelearnOptions {
  steps: number;
  /** AdamW learning rate (default 1e-3: ten times the unlearning default, so a few steps can bring back what was suppressed). */
  lr?: number;
  batchSize?: number;
  seed: number;
  threads?: number;
  scoreBatchSize?: number;
}

export const RELEARN_DEFAULTS = { lr: 1e-3, batchSize: 8 } as const;

export interface RelearnTask {
  spec: TaskSpec;
  items: readonly EvalItem[];
  losses: readonly SampleLosses[];
}

export type { RelearnSummary };

const isTrainRow = (index: number) => index % 2 === 0;

export function recovery(before: number, after: number): number {
  return before >= 1 ? 0 : (after - before) / (1 - before);
}

/** Fine-tune a copy of the model for exactly `steps` optimiser steps on the examples. */
async function fineTune(model: Model, examples: readonly Example[], sources: TaskSources, opts: RelearnOptions & { lr: number; batchSize: number }): Promise<Model> {
  const images = await prepareImages(model, examples, sources.cache);
  const copy = model.withParams(model.params.clone());
  const trainer = await Trainer.create(copy.params, {
    optimizer: { type: 'adamw', lr: opts.lr, weightDecay: 0.01 },
    maxGradNorm: 1,
    threads: opts.threads,
  });
  const rng = Rng.derive(opts.seed, 'relearn/batches');
  for (let epoch = 0; trainer.step < opts.steps; epoch++) {
    const encoded = encodeExamples(copy, examples, examples.map((_, i) => i), images, opts.seed, epoch);
    for (const idx of lengthSortedBatches(encoded, opts.batchSize, rng)) {
      if (trainer.step >= opts.steps) break;
      const batch = copy.batch(idx.map((i) => encoded[i]), { padSide: 'right' });
      await trainer.run(shapeKey(batch.shape), lmLossBuilder(copy, batch), { ...batch.feeds, targets: batch.targets });
    }
  }
  // The trainer keeps the parameters in its own memory; scoring gets a detached copy.
  return copy.withParams(copy.params.clone());
}

export async function relearnAttack(
  model: Model,
  rows: readonly TaskRow[],
  tasks: readonly RelearnTask[],
  sources: TaskSources,
  compat: TruthRatioCompat,
  opts: RelearnOptions,
): Promise<RelearnSummary> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new UserError(`--relearn must be a positive number of steps, got ${opts.steps}`);
  const trainRows = rows.filter((_, i) => isTrainRow(i));
  const evalRows = rows.length - trainRows.length;
  if (evalRows === 0) throw new UserError(`the relearning attack needs at least 2 forget rows (has ${rows.length}); raise --ds-size or use a larger forget split`);
  const lr = opts.lr ?? RELEARN_DEFAULTS.lr;
  const batchSize = opts.batchSize ?? RELEARN_DEFAULTS.batchSize;
  const examples = examplesFromRows(trainRows as unknown as Row[], { faceNames: true });
  const relearned = await fineTune(model, examples, sources, { ...opts, lr, batchSize });

  const scorer = new Scorer(relearned, opts.threads, opts.scoreBatchSize);
  const out: RelearnSummary['tasks'] = {};
  try {
    for (const t of tasks) {
      const keep = t.items.map((it, i) => (isTrainRow(it.index) ? -1 : i)).filter((i) => i >= 0);
      const items = keep.map((i) => t.items[i]);
      const before = lossScores(t.spec, keep.map((i) => t.losses[i]), compat);
      const after = lossScores(t.spec, (await scoreTask(scorer, t.spec, items, new EvalTimer())).losses, compat);
      out[t.spec.id] = { before: { prob: before.prob, truth_ratio: before.truth_ratio }, after: { prob: after.prob, truth_ratio: after.truth_ratio } };
    }
  } finally {
    await scorer.release();
  }
  const first = out[tasks[0].spec.id];
  return {
    steps: opts.steps,
    forget_prob_before: first.before.prob,
    forget_prob_after: first.after.prob,
    recovery: recovery(first.before.prob, first.after.prob),
    lr,
    batch_size: batchSize,
    train_rows: trainRows.length,
    eval_rows: evalRows,
    tasks: out,
  };
}
