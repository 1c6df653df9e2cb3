/**
 * The mean Euclidean norm of a model's hidden states on the answer tokens of a set of examples, for methods
 * that scale a target to the model's own representations (adaptive RMU's steering coefficient).
 */
import { bindParams } from '../engine/params.ts';
import { type LoadedModel, shapeKey } from '../models/model.ts';
import { ForwardRunner } from '../models/runner.ts';
import { IGNORE_LABEL } from '../protocol/vocabulary.ts';
import { questionFor, type Example, type ImageTensors } from '../train/examples.ts';

export interface HiddenNormOptions {
  /** The model at its starting parameters. */
  model: LoadedModel;
  examples: readonly Example[];
  images: ImageTensors;
  layers: readonly number[];
  batchSize: number;
  /** Seed of the caption questions (epoch 0's, as the first unlearning epoch asks them). */
  seed: number;
  threads?: number;
}

/**
 * Positions whose INPUT token is an answer token (answer and closing eos), given next-token targets:
 * targets[t] scores token t + 1, so position t holds an answer token exactly when targets[t − 1] is scored.
 */
export function answerTokenPositions(targets: ArrayLike<bigint>, B: number, S: number): boolean[] {
  const out = new Array<boolean>(B * S).fill(false);
  for (let b = 0; b < B; b++) for (let t = 1; t < S; t++) out[b * S + t] = targets[b * S + t - 1] !== BigInt(IGNORE_LABEL);
  return out;
}

/** Layer → mean over every answer token of every example of ‖h^layer‖₂ (one token, one vote). */
export async function meanAnswerHiddenNorms(o: HiddenNormOptions): Promise<Map<number, number>> {
  const { model } = o;
  const runner = new ForwardRunner(model.params, o.threads);
  const d = model.dims.dModel;
  const sums = new Map<number, number>(o.layers.map((l) => [l, 0]));
  let count = 0;
  try {
    // Batches of one modality each, in dataset order (the mean does not depend on the order).
    for (const withImage of [true, false]) {
      const idx = o.examples.map((_, i) => i).filter((i) => (o.examples[i].image !== null) === withImage);
      for (let k = 0; k < idx.length; k += o.batchSize) {
        const enc = idx.slice(k, k + o.batchSize).map((i) => {
          const e = o.examples[i];
          return model.encode({ question: questionFor(e, o.seed, 0, i), answer: e.answer, image: e.image ? o.images.get(e.image)! : null });
        });
        const batch = model.batch(enc, { padSide: 'right' });
        const { B, S } = batch.shape;
        const r = await runner.run(`hidden-norm:${shapeKey(batch.shape)}`, (g) => {
          const f = model.forward(g, bindParams(g, model.params), model.declareInputs(g, batch.shape), { hiddenLayers: [...o.layers] });
          return Object.fromEntries(o.layers.map((l) => [`h${l}`, f.hidden[l]]));
        }, batch.feeds);
        const at = answerTokenPositions(batch.targets, B, S);
        for (const l of o.layers) {
          const h = r[`h${l}`].data as Float32Array;
          let s = 0;
          at.forEach((yes, p) => {
            if (!yes) return;
            let sq = 0;
            for (let j = 0; j < d; j++) sq += h[p * d + j] ** 2;
            s += Math.sqrt(sq);
          });
          sums.set(l, sums.get(l)! + s);
        }
        count += at.filter(Boolean).length;
      }
    }
  } finally {
    await runner.release();
  }
  if (!count) throw new Error('no answer tokens to measure hidden-state norms on');
  return new Map(o.layers.map((l) => [l, sums.get(l)! / count]));
}
