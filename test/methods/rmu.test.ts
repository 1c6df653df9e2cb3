/**
 * RMU: loss against the formula (hidden states of forget answer tokens steered to c·u, c = β·mean‖h_ref‖ by
 * default; retain ones held at the reference; squared differences averaged over tokens and coordinates),
 * gradient check, the answer-token mask on hand-made and real batches, the measured norm, layer and
 * trainable-weight choice, and the direction on tiny and small-preset targets.
 */
import { describe, expect, test } from '@jest/globals';
import rmu, { answerTokenMask } from '../../methods/rmu.ts';
import { Graph } from '../../src/engine/graph.ts';
import { CompiledGraph } from '../../src/engine/session.ts';
import { answerMask } from '../../src/engine/losses.ts';
import { bindParams, type ParamStore } from '../../src/engine/params.ts';
import { ForwardRunner } from '../../src/models/runner.ts';
import { encodeSample, makeBatch, shapeKey } from '../../src/models/batch.ts';
import { declareInputs, vlmForward } from '../../src/models/vlm.ts';
import { IGNORE_LABEL } from '../../src/protocol/vocabulary.ts';
import { unlearn } from '../../src/methods/unlearn.ts';
import { meanAnswerHiddenNorms } from '../../src/methods/hidden-norm.ts';
import { type ModelInfo } from '../../src/methods/api.ts';
import { questionFor, type Example } from '../../src/train/examples.ts';
import { Rng } from '../../src/util/rng.ts';
import { DEFAULT_METHOD_ENTRIES } from '../../src/pipeline/config/schema.ts';
import { tinyTarget, trainedTarget, type TinyTarget } from '../helpers/tiny-target.ts';
import { B, D, HIDDEN_NORM, S, lossCase } from '../helpers/method-loss.ts';
/** c·u as the method must build it: d uniform draws of Rng.derive(seed, 'method/rmu'), normalised, times c. */
function steeringTarget(seed: number, d: number, c: number): Float32Array {
  const r = Rng.derive(seed, 'method/rmu');
  const u = Array.from({ length: d }, () => r.next());
  const norm = Math.sqrt(u.reduce((a, x) => a + x * x, 0));
  return Float32Array.from(u, (x) => (c * x) / norm);
}

/**
 * F.mse_loss over the answer tokens: Σ (h − target)² over the positions t whose input token is an answer
 * token (labels[t − 1] scored, same row) and the D coordinates, divided by (positions · D).
 */
function answerMseRef(hidden: Float64Array, target: ArrayLike<number>, labels: number[]): number {
  let sum = 0, n = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < S; t++) {
      if (labels[b * S + t - 1] === -100) continue;
      const i = b * S + t;
      for (let d = 0; d < D; d++) sum += (hidden[i * D + d] - (target.length === D ? target[d] : target[i * D + d])) ** 2;
      n++;
    }
  }
  return sum / (n * D);
}

const info = (layers: number, dModel = 48): ModelInfo => ({ layers, dModel, vocabSize: 10 });
const DEFAULTS = { layer: -1, adaptive: true, beta: 5, c: 6.5, alpha: 1200, params: 'down_proj' };

describe('loss value and gradient on a fixed batch', () => {
  test.each([
    ['defaults (ℓ = middle, adaptive c = 5·mean‖h_ref‖, α = 1200)', {}, 5 * HIDDEN_NORM],
    ['β = 2', { beta: 2 }, 2 * HIDDEN_NORM],
    ['ℓ = 2, fixed c = 2, α = 0.5', { layer: 2, adaptive: false, c: 2, alpha: 0.5 }, 2],
  ])('%s: mse_f(h^ℓ, c·u) + α·mse_r(h^ℓ, h^ℓ_ref) over answer tokens', async (_n, hyper, c) => {
    const lc = lossCase(rmu, hyper);
    const l = (hyper as { layer?: number }).layer ?? 1; // middle of LossCase's 4 layers: floor(3/2)
    const f = lc.data.forget!, r = lc.data.retain!;
    expect(Object.keys(f.hidden)).toEqual([String(l)]);
    const alpha = lc.h.alpha as number;
    const expected = answerMseRef(f.hidden[l], steeringTarget(7, D, c), f.labels) + alpha * answerMseRef(r.hidden[l], r.refHidden[l], r.labels);
    expect(await lc.value()).toBeCloseTo(expected, 9);
    expect((await lc.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults: adaptive with β 5 (adaptive RMU), α 1200 and c 6.5 (WMDP), WMDP\'s down projection', () => {
    expect(lossCase(rmu).h).toEqual(DEFAULTS);
    expect(rmu.measureHiddenNorm!(DEFAULTS as never, info(4))).toEqual([1]);
    expect(rmu.measureHiddenNorm!({ ...DEFAULTS, adaptive: false } as never, info(4))).toEqual([]);
  });

  test('ℓ defaults to the middle layer floor((L−1)/2); a layer beyond the model is a clear error', () => {
    const h = DEFAULTS as never as Parameters<NonNullable<typeof rmu.hiddenLayers>>[0];
    expect([2, 4, 32].map((L) => rmu.hiddenLayers!(h, info(L)))).toEqual([[0], [1], [15]]);
    expect(rmu.hiddenLayers!({ ...h, layer: 3 }, info(4))).toEqual([3]);
    expect(() => rmu.hiddenLayers!({ ...h, layer: 4 }, info(4))).toThrow("method 'rmu' hyperparameter 'layer' is 4, but the model has 4 decoder layers; use 0..3 or −1 (middle)");
  });

  test('trained: the MLP down projection (fc2.weight) of layers ℓ−2..ℓ by default (WMDP), every MLP weight with params: mlp', () => {
    const h = { ...DEFAULTS, layer: 5 } as never as Parameters<NonNullable<typeof rmu.trainable>>[1];
    const names = [2, 3, 4, 5, 6].flatMap((l) => ['mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias', 'attn.qkv.weight', 'norm2.weight'].map((p) => `lm.blocks.${l}.${p}`));
    expect(names.filter((n) => rmu.trainable!(n, h, info(8)))).toEqual([3, 4, 5].map((l) => `lm.blocks.${l}.mlp.fc2.weight`));
    expect(names.filter((n) => rmu.trainable!(n, { ...h, params: 'mlp' }, info(8)))).toEqual([3, 4, 5].flatMap((l) => ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'].map((p) => `lm.blocks.${l}.mlp.${p}`)));
    expect(rmu.trainable!('vision.blocks.0.mlp.fc2.weight', h, info(8))).toBe(false);
    expect(rmu.trainable!('projector.fc2.weight', h, info(8))).toBe(false);
  });
});

/** answerTokenMask(answerMask(targets)) evaluated on int64 targets [B, S]. */
async function tokenMask(targets: BigInt64Array, shape: [number, number]): Promise<number[]> {
  const g = new Graph();
  const m = answerTokenMask(answerMask(g.constant(targets, shape, 'int64')));
  const c = await CompiledGraph.compile(g, { m }, { threads: 1 });
  const r = await c.run({});
  await c.release();
  return Array.from(r.m.data as Float32Array);
}

describe('the hidden-state mask covers exactly the answer tokens', () => {
  test('hand-made targets: scored targets at t mark the token at t + 1', async () => {
    // Row 0: tokens 2 and 3 are the answer (targets at 1 and 2 score them); row 1: token 3 only.
    const targets = BigInt64Array.from([-100, 5, 6, -100, -100, -100, 7, -100].map(BigInt));
    expect(await tokenMask(targets, [2, 4])).toEqual([0, 0, 1, 1, 0, 0, 0, 1]);
  });

  test('a real batch: the mask is 1 exactly where the chat encoding labels an answer token (answer and eos)', async () => {
    const t = await tinyTarget();
    const enc = [encodeSample(t.tok, t.cfg, { question: 'Who is this?', answer: 'A quiet writer.', image: null }), encodeSample(t.tok, t.cfg, { question: 'Where was she born?', answer: 'Lyon', image: null })];
    const batch = makeBatch(t.cfg, enc, { padSide: 'right' });
    const { B: nb, S: ns } = batch.shape;
    const want = Array.from({ length: nb * ns }, (_, i) => {
      const [b, p] = [Math.floor(i / ns), i % ns];
      return p < enc[b].labels.length && enc[b].labels[p] !== IGNORE_LABEL ? 1 : 0;
    });
    expect(want.filter((x) => x === 1).length).toBe(enc.reduce((a, e) => a + e.labels.filter((l) => l !== IGNORE_LABEL).length, 0));
    expect(await tokenMask(batch.targets, [nb, ns])).toEqual(want);
  });
});

/** Hidden states after layer ℓ at every answer-token position, one [n, d] array per example (questions as unlearning's epoch 0). */
async function answerHidden(t: Pick<TinyTarget, 'cfg' | 'tok' | 'images'>, store: ParamStore, examples: readonly Example[], layer: number): Promise<Float32Array[]> {
  const runner = new ForwardRunner(store, 1);
  const d = t.cfg.lm.dModel;
  const out: Float32Array[] = [];
  try {
    for (const [i, e] of examples.entries()) {
      const enc = encodeSample(t.tok, t.cfg, { question: questionFor(e, 0, 0, i), answer: e.answer, image: e.image ? t.images.get(e.image)! : null });
      const batch = makeBatch(t.cfg, [enc], { padSide: 'right' });
      const r = await runner.run(`hidden:${shapeKey(batch.shape)}`, (g) => ({ h: vlmForward(g, bindParams(g, store), t.cfg, declareInputs(g, t.cfg, batch.shape), { hiddenLayers: [layer] }).hidden[layer] }), batch.feeds);
      const h = r.h.data as Float32Array;
      const rows = enc.labels.map((l, p) => (l !== IGNORE_LABEL ? p : -1)).filter((p) => p >= 0);
      const picked = new Float32Array(rows.length * d);
      rows.forEach((pos, k) => picked.set(h.subarray(pos * d, (pos + 1) * d), k * d));
      out.push(picked);
    }
  } finally {
    await runner.release();
  }
  return out;
}

/** Mean over all rows and coordinates of (a − b)², b one target row [d] or rows matching a. */
function meanSq(a: Float32Array[], b: Float32Array | Float32Array[], d: number): number {
  let sum = 0, n = 0;
  a.forEach((x, e) => {
    for (let k = 0; k < x.length; k++) sum += (x[k] - (Array.isArray(b) ? b[e][k] : b[k % d])) ** 2;
    n += x.length;
  });
  return sum / n;
}

/** Mean over all rows of the row's Euclidean norm. */
function meanNorm(a: Float32Array[], d: number): number {
  let sum = 0, n = 0;
  for (const x of a) for (let k = 0; k < x.length / d; k++, n++) sum += Math.hypot(...x.subarray(k * d, (k + 1) * d));
  return sum / n;
}

describe('the measured norm', () => {
  test('mean‖h^ℓ‖ over every forget answer token, as computed row by row', async () => {
    const t = await tinyTarget();
    const l = 0;
    const got = await meanAnswerHiddenNorms({ model: t.model, examples: t.forget, images: t.images, layers: [l], batchSize: 3, seed: 0, threads: 1 });
    expect(got.get(l)!).toBeCloseTo(meanNorm(await answerHidden(t, t.store, t.forget, l), t.cfg.lm.dModel), 4);
  });
});

const LAYER_PARAMS = (l: number) => [0, 1, 2].map((k) => l - k).filter((k) => k >= 0).map((k) => `lm.blocks.${k}.mlp.fc2.weight`).sort();

/** Unlearn a target; forget distance to c·u and retain drift at ℓ (per coordinate) before/after, and what changed. */
async function steer(t: TinyTarget, hyperparameters: Record<string, unknown>, budget: { epochs: number; batchSize: number; lr: number; maxGradNorm?: number }) {
  const start = t.store.clone();
  const d = t.cfg.lm.dModel;
  const l = Math.floor((t.cfg.lm.layers - 1) / 2);
  const [fh0, rh0] = [await answerHidden(t, start, t.forget, l), await answerHidden(t, start, t.retain, l)];
  const c = 5 * meanNorm(fh0, d); // the default β = 5 times the norm the method measures
  const cu = steeringTarget(0, d, c);
  const summary = await unlearn({
    method: rmu, hyperparameters, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: budget.epochs, batchSize: budget.batchSize, seed: 0,
    optimizer: { optimizer: { type: 'adamw', lr: budget.lr, weightDecay: 0 }, maxGradNorm: budget.maxGradNorm ?? null, threads: 1 },
  });
  const [fh1, rh1] = [await answerHidden(t, t.store, t.forget, l), await answerHidden(t, t.store, t.retain, l)];
  const out = {
    l,
    c,
    steps: summary.steps,
    trained: summary.trained.slice().sort(),
    changed: t.store.names().filter((n) => !t.store.get(n).data.every((x, i) => Object.is(x, start.get(n).data[i]))).sort(),
    before: meanSq(fh0, cu, d),
    after: meanSq(fh1, cu, d),
    retainDrift: meanSq(rh1, rh0, d),
    retainScale: meanSq(rh0, new Float32Array(d), d),
  };
  console.log(`rmu ${JSON.stringify(hyperparameters)} ${JSON.stringify(budget)}: c ${c.toFixed(2)}, ${out.steps} steps, forget mse(h, c·u) ${out.before.toFixed(3)} → ${out.after.toFixed(3)}, retain mse(h, h_ref) ${out.retainDrift.toExponential(2)} (mean h² ${out.retainScale.toFixed(3)})`);
  return out;
}

describe('direction on a tiny target model', () => {
  test('forget answer states approach c·u while retain ones are held; only the down projections of ℓ−2..ℓ change; α trades one for the other', async () => {
    const budget = { epochs: 3, batchSize: 4, lr: 1e-3 };
    const byDefault = await steer(await tinyTarget(), {}, budget);
    expect(byDefault.trained).toEqual(LAYER_PARAMS(byDefault.l));
    expect(byDefault.changed).toEqual(LAYER_PARAMS(byDefault.l));
    const looser = await steer(await tinyTarget(), { alpha: 10 }, budget);
    expect(looser.after).toBeLessThan(0.9 * looser.before);
    expect(looser.after).toBeLessThan(byDefault.after);
    expect(looser.retainDrift).toBeGreaterThan(byDefault.retainDrift);
    expect(byDefault.retainDrift).toBeLessThan(0.01 * byDefault.retainScale);
  });
});

/** A `small`-preset target: 10 synthetic persons (forget10 = 1), trained from scratch as the target recipe trains (30 epochs at 3e-4). */
const smallTarget = () => trainedTarget({ preset: 'small', persons: 10, imagesPerPerson: 4, epochs: 30, lr: 3e-4 });

/** The default run's RMU entry (configs/default.yaml; a config test holds the two equal). */
const DEFAULT_RMU = DEFAULT_METHOD_ENTRIES.find((e) => e.name === 'rmu')!;

describe('on the small preset within the default run\'s RMU budget (batch 8, clip 1, ~70 steps, the default entry\'s lr and hyperparameters)', () => {
  // At the unlearning settings' own lr 1e-4 RMU cannot steer here: Adam moves each trained weight by at most ~lr
  // per step, so 20 steps shift a layer coordinate by ~0.1 against ~0.7 needed, and with WMDP's α = 1200 the
  // retain term (forget and retain answers share their templates) pins the forget states (measured: 6.14 → 6.15).
  // The default config therefore gives RMU lr 1e-3, α = 30 and every MLP weight of ℓ−2..ℓ, a choice for a
  // 1.4 M-parameter model and a budget of tens of steps (WMDP: 7B models, lr 5e-5, hundreds of steps).
  // The default run's forget set makes that 70 steps (its train_log.jsonl); this smaller target's 4 batches per
  // epoch get about as many from 17 epochs.
  const budget = { epochs: 17, batchSize: 8, lr: DEFAULT_RMU.lr!, maxGradNorm: 1 };
  let run: Promise<Awaited<ReturnType<typeof steer>>> | null = null;
  const steered = () => (run ??= smallTarget().then((t) => steer(t, DEFAULT_RMU.hyperparameters!, budget)));

  test('forget_dist falls by at least half in the default run\'s step count, with the retain drift under 10 % of mean h²', async () => {
    // Measured: 0.337 → 0.011 (−97 %), retain drift 9.5e-4 of mean h² 0.013 (7 %). With WMDP's down projection
    // alone at α = 10: 0.337 → 0.018 but a retain drift of 31 %; at α = 100, −43 % and 7 %.
    const r = await steered();
    expect([r.steps >= 64, r.steps <= 72]).toEqual([true, true]);
    expect(r.after).toBeLessThan(0.5 * r.before);
    expect(r.retainDrift).toBeLessThan(0.1 * r.retainScale);
  }, 240_000);
});
