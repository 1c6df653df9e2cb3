/**
 * RMU: loss against the formula (hidden states steered to c·u on forget tokens, held at the reference on
 * retain tokens), gradient check, layer and trainable-weight choice, and on a tiny target: the forget
 * hidden states approach c·u while only the MLPs of layers ℓ−2..ℓ change.
 */
import { describe, expect, test } from '@jest/globals';
import rmu from '../../methods/rmu.ts';
import { bindParams, type ParamStore } from '../../src/engine/params.ts';
import { ForwardRunner } from '../../src/models/runner.ts';
import { encodeSample, makeBatch, shapeKey } from '../../src/models/batch.ts';
import { declareInputs, vlmForward } from '../../src/models/vlm.ts';
import { IGNORE_LABEL } from '../../src/protocol/vocabulary.ts';
import { unlearn } from '../../src/methods/unlearn.ts';
import { type ModelInfo } from '../../src/methods/api.ts';
import { questionFor, type Example } from '../../src/train/examples.ts';
import { Rng } from '../../src/util/rng.ts';
import { tinyTarget, type TinyTarget } from '../helpers/tiny-target.ts';
import { measure } from '../helpers/measure.ts';
import { D, LAYERS, lossCase, sqDistRef } from '../helpers/method-loss.ts';

/** c·u as the method must build it: d uniform draws of Rng.derive(seed, 'method/rmu'), normalised, times c. */
function steeringTarget(seed: number, d: number, c: number): Float32Array {
  const r = Rng.derive(seed, 'method/rmu');
  const u = Array.from({ length: d }, () => r.next());
  const norm = Math.sqrt(u.reduce((a, x) => a + x * x, 0));
  return Float32Array.from(u, (x) => (c * x) / norm);
}

const info = (layers: number, dModel = 48): ModelInfo => ({ layers, dModel, vocabSize: 10 });

describe('loss value and gradient on a fixed batch', () => {
  test.each([
    ['defaults (ℓ = middle, c = 6.5·√(d/4096), α = 1200)', {}, 6.5 * Math.sqrt(D / 4096)],
    ['ℓ = 2, c = 2 unscaled, α = 0.5', { layer: 2, c: 2, scale_c: false, alpha: 0.5 }, 2],
  ])('%s: mean_f ‖h^ℓ − c·u‖² + α·mean_r ‖h^ℓ − h^ℓ_ref‖²', async (_n, hyper, c) => {
    const lc = lossCase(rmu, hyper);
    const l = (hyper as { layer?: number }).layer ?? 1; // middle of LossCase's 4 layers: floor(3/2)
    const f = lc.data.forget!, r = lc.data.retain!;
    expect(Object.keys(f.hidden)).toEqual([String(l)]);
    const alpha = lc.h.alpha as number;
    const expected = sqDistRef(f.hidden[l], steeringTarget(7, D, c), f.labels) + alpha * sqDistRef(r.hidden[l], r.refHidden[l], r.labels);
    expect(await lc.value()).toBeCloseTo(expected, 9);
    expect((await lc.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults and hidden-size scaling of c', () => {
    expect(lossCase(rmu).h).toEqual({ layer: -1, c: 6.5, scale_c: true, alpha: 1200 });
  });

  test('ℓ defaults to the middle layer floor((L−1)/2); a layer beyond the model is a clear error', () => {
    const h = { layer: -1, c: 6.5, scale_c: true, alpha: 1200 };
    expect([2, 4, 32].map((L) => rmu.hiddenLayers!(h, info(L)))).toEqual([[0], [1], [15]]);
    expect(rmu.hiddenLayers!({ ...h, layer: 3 }, info(4))).toEqual([3]);
    expect(() => rmu.hiddenLayers!({ ...h, layer: 4 }, info(4))).toThrow("method 'rmu' hyperparameter 'layer' is 4, but the model has 4 decoder layers; use 0..3 or −1 (middle)");
  });

  test('only the MLP weights and biases of layers ℓ−2..ℓ train', () => {
    const h = { layer: 5, c: 6.5, scale_c: true, alpha: 1200 };
    const names = [2, 3, 4, 5, 6].flatMap((l) => ['mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias', 'attn.qkv.weight', 'norm2.weight'].map((p) => `lm.blocks.${l}.${p}`));
    const chosen = names.filter((n) => rmu.trainable!(n, h, info(8)));
    expect(chosen).toEqual([3, 4, 5].flatMap((l) => ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'].map((p) => `lm.blocks.${l}.mlp.${p}`)));
    expect(rmu.trainable!('vision.blocks.0.mlp.fc1.weight', h, info(8))).toBe(false);
    expect(rmu.trainable!('projector.fc1.weight', h, info(8))).toBe(false);
  });
});

/** Hidden states after layer ℓ at every scored (answer-predicting) position, one [n, d] array per example. */
async function answerHidden(t: Pick<TinyTarget, 'cfg' | 'tok' | 'images'>, store: ParamStore, examples: readonly Example[], layer: number): Promise<Float32Array[]> {
  const runner = new ForwardRunner(store, 1);
  const d = t.cfg.lm.dModel;
  const out: Float32Array[] = [];
  try {
    for (const e of examples) {
      const batch = makeBatch(t.cfg, [encodeSample(t.tok, t.cfg, { question: questionFor(e, 0, 0, 0), answer: e.answer, image: e.image ? t.images.get(e.image)! : null })], { padSide: 'right' });
      const r = await runner.run(`hidden:${shapeKey(batch.shape)}`, (g) => ({ h: vlmForward(g, bindParams(g, store), t.cfg, declareInputs(g, t.cfg, batch.shape), { hiddenLayers: [layer] }).hidden[layer] }), batch.feeds);
      const h = r.h.data as Float32Array;
      const rows = [...batch.targets.keys()].filter((i) => batch.targets[i] !== BigInt(IGNORE_LABEL));
      const picked = new Float32Array(rows.length * d);
      rows.forEach((pos, k) => picked.set(h.subarray(pos * d, (pos + 1) * d), k * d));
      out.push(picked);
    }
  } finally {
    await runner.release();
  }
  return out;
}

/** Mean over all rows of Σ_d (a − b)², b one target row [d] or rows matching a. */
function meanSqDist(a: Float32Array[], b: Float32Array | Float32Array[], d: number): number {
  let sum = 0, n = 0;
  a.forEach((x, e) => {
    for (let k = 0; k < x.length / d; k++) {
      for (let j = 0; j < d; j++) sum += (x[k * d + j] - (Array.isArray(b) ? b[e][k * d + j] : b[j])) ** 2;
      n++;
    }
  });
  return sum / n;
}

describe('direction on a tiny target model', () => {
  /** Unlearn a fresh target; distances at layer ℓ before/after and the names of the parameters that changed. */
  async function run(hyperparameters: Record<string, unknown>) {
    const t = await tinyTarget();
    const start = t.store.clone();
    const d = t.cfg.lm.dModel;
    const l = Math.floor((t.cfg.lm.layers - 1) / 2);
    const cu = steeringTarget(0, d, 6.5 * Math.sqrt(d / 4096));
    const [fh0, rh0] = [await answerHidden(t, start, t.forget, l), await answerHidden(t, start, t.retain, l)];
    const [f0, r0] = [await measure(t, t.forget), await measure(t, t.retain)];
    const summary = await unlearn({ method: rmu, hyperparameters, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 3, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    const [fh1, rh1] = [await answerHidden(t, t.store, t.forget, l), await answerHidden(t, t.store, t.retain, l)];
    const [f1, r1] = [await measure(t, t.forget), await measure(t, t.retain)];
    const out = {
      l,
      trained: summary.trained.slice().sort(),
      changed: t.store.names().filter((n) => !t.store.get(n).data.every((x, i) => Object.is(x, start.get(n).data[i]))).sort(),
      before: meanSqDist(fh0, cu, d),
      after: meanSqDist(fh1, cu, d),
      retainDrift: meanSqDist(rh1, rh0, d),
    };
    console.log(
      `rmu ${JSON.stringify(hyperparameters)}: forget ‖h−c·u‖² ${out.before.toFixed(3)} → ${out.after.toFixed(3)} (‖c·u‖² ${((6.5 ** 2 * d) / 4096).toFixed(3)}), ` +
        `retain ‖h−h_ref‖² ${out.retainDrift.toFixed(4)}; forget NLL ${f0.meanNll.toFixed(3)} → ${f1.meanNll.toFixed(3)}, retain NLL ${r0.meanNll.toFixed(3)} → ${r1.meanNll.toFixed(3)}`,
    );
    return out;
  }

  test('forget hidden states approach c·u while retain ones are held; only the MLPs of layers ℓ−2..ℓ change; α trades one for the other', async () => {
    const byDefault = await run({});
    const allowed = [0, 1, 2].map((k) => byDefault.l - k).filter((k) => k >= 0).flatMap((k) => ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'].map((p) => `lm.blocks.${k}.mlp.${p}`)).sort();
    expect(byDefault.trained).toEqual(allowed);
    expect(byDefault.changed).toEqual(allowed);
    // The tiny target's forget and retain persons share their answer templates and ℓ = 0 trains a single
    // MLP, so at α = 1200 the retain term pins the layer: the retain states barely move and the forget
    // distance moves little (measured: 6.154 → 6.153, 6.154 → 6.155 and 6.803 → 6.751 on three versions
    // of the tiny target). The direction RMU promises is asserted with a small α, where the forget states
    // move much further, and the default's movement is bounded relative to it.
    expect(byDefault.retainDrift).toBeLessThan(0.01);
    const looser = await run({ alpha: 10 });
    expect(looser.changed).toEqual(allowed);
    expect(looser.after).toBeLessThan(0.9 * looser.before);
    expect(Math.abs(byDefault.after - byDefault.before)).toBeLessThan(0.1 * (looser.before - looser.after));
    expect(looser.after).toBeLessThan(byDefault.after);
    expect(looser.retainDrift).toBeGreaterThan(byDefault.retainDrift);
  });
});
