/**
 * A small causal transformer block composed from the engine's ops, with every parameter's gradient
 * checked against float64 central finite differences (relative error ≤ 1e-5): pre-norm, multi-head
 * causal self-attention with separate Q/K/V/O projections and an additive mask, softmax over keys,
 * residual, norm, GELU MLP, residual. Then the same through an embedding, a final norm, an LM head and
 * the token cross-entropy of losses.ts, and finally the project's own block (src/models/transformer.ts)
 * built in float64.
 *
 * In float64 the erf form of GELU runs through graph.ts's decomposed erf64 (ORT has no float64 Erf).
 */
import { describe, test, expect } from '@jest/globals';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import { grad } from '../../src/engine/autodiff.ts';
import { gradCheck } from '../../src/engine/gradcheck.ts';
import { CompiledGraph, type Feeds } from '../../src/engine/session.ts';
import { tokenCE } from '../../src/engine/losses.ts';
import { type ParamLookup, ParamStore } from '../../src/engine/params.ts';
import { block as modelBlock, causalMaskValues, initBlock } from '../../src/models/transformer.ts';
import { Rng } from '../../src/util/rng.ts';

const F = 'float64';
const TOL = 1e-5;
const [B, T, D, H, HIDDEN, V] = [2, 4, 8, 2, 16, 7];
type Norm = 'layernorm' | 'rmsnorm';
type Lookup = ParamLookup;

function blockShapes(norm: Norm): Record<string, number[]> {
  const s: Record<string, number[]> = {
    'ln1.s': [D], 'ln2.s': [D],
    wq: [D, D], bq: [D], wk: [D, D], bk: [D], wv: [D, D], bv: [D], wo: [D, D], bo: [D],
    w1: [D, HIDDEN], b1: [HIDDEN], w2: [HIDDEN, D], b2: [D],
  };
  if (norm === 'layernorm') Object.assign(s, { 'ln1.b': [D], 'ln2.b': [D] });
  return s;
}

/** Parameters declared on first use, float64 (params.ts's bindParams declares float32). */
function lookup(g: Graph, shapes: Record<string, readonly number[]>): Lookup {
  const made = new Map<string, Tensor>();
  const get = (name: string): Tensor => {
    let t = made.get(name);
    if (!t) {
      if (!shapes[name]) throw new Error(`test: no shape for ${name}`);
      t = g.param(name, shapes[name], F);
      made.set(name, t);
    }
    return t;
  };
  return Object.assign(get, { has: (name: string) => name in shapes });
}

/** Values that keep activations O(1): matrices N(0, 1/fan_in), norm scales 1 ± 0.2, biases ± 0.2. */
function values(shapes: Record<string, readonly number[]>, seed: number): Feeds {
  const out: Feeds = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const rng = Rng.derive(seed, name);
    const n = shape.reduce((a, b) => a * b, 1);
    const isScale = /(^|\.)(s|weight)$/.test(name) && shape.length === 1;
    const std = shape.length === 2 && !/emb/.test(name) ? 1 / Math.sqrt(shape[0]) : shape.length === 1 ? 0.2 : 1;
    out[name] = Float64Array.from({ length: n }, () => (isScale ? 1 : 0) + std * rng.normal());
  }
  return out;
}

function causalMask(g: Graph): Tensor {
  const m = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return g.constant(m, [T, T], F);
}

function normalize(x: Tensor, P: Lookup, prefix: string, norm: Norm): Tensor {
  return norm === 'layernorm' ? x.layerNorm(P(`${prefix}.s`), P(`${prefix}.b`)) : x.rmsNorm(P(`${prefix}.s`));
}

/** Multi-head causal self-attention on h [B, T, D] with separate Q, K, V, O projections. */
function attention(h: Tensor, P: Lookup, mask: Tensor): Tensor {
  const dh = D / H;
  const heads = (t: Tensor): Tensor => t.reshape([B, T, H, dh]).transpose([0, 2, 1, 3]); // [B, H, T, dh]
  const q = heads(h.linear(P('wq'), P('bq')));
  const k = heads(h.linear(P('wk'), P('bk')));
  const v = heads(h.linear(P('wv'), P('bv')));
  const scores = q.matmul(k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(dh)).add(mask); // [B, H, Tq, Tk]
  const ctx = scores.softmax(-1).matmul(v); // softmax over keys
  return ctx.transpose([0, 2, 1, 3]).reshape([B, T, D]).linear(P('wo'), P('bo'));
}

/** Pre-norm block: x + attn(norm(x)), then + mlp(norm(·)). */
function block(x: Tensor, P: Lookup, norm: Norm, geluApprox: boolean): Tensor {
  const h = x.add(attention(normalize(x, P, 'ln1', norm), P, causalMask(x.graph)));
  const m = normalize(h, P, 'ln2', norm).linear(P('w1'), P('b1')).gelu(geluApprox).linear(P('w2'), P('b2'));
  return h.add(m);
}

/**
 * The key bias adds q·b_k to every score of a query row, a constant across keys that the softmax
 * cancels: its true gradient is exactly 0, so a relative error would compare rounding noise with
 * rounding noise. It is checked absolutely instead: autodiff ≤ 1e-12 (sums that cancel to rounding),
 * finite differences ≤ 1e-7 (their round-off is ~|loss|·2⁻⁵²/eps ≈ 1e-9 per element here), against
 * gradient norms of order 0.1–10 for the other parameters.
 */
const ZERO_GRADIENT = new Set(['bk']);

/** gradCheck with per-parameter assertions: every parameter checked, each ≤ TOL and not all zero. */
async function expectAllParamsOk(build: (g: Graph) => Tensor, feeds: Feeds, expected: string[]): Promise<void> {
  const r = await gradCheck(build, { values: feeds });
  expect(Object.keys(r.relErrors).sort()).toEqual([...expected].sort());
  const relative = Object.entries(r.relErrors).filter(([k]) => !ZERO_GRADIENT.has(k));
  expect(relative.filter(([, e]) => !(e <= TOL))).toEqual([]);
  expect(relative.filter(([k]) => !(Math.hypot(...r.numeric[k]) > 1e-6)).map(([k]) => k)).toEqual([]);
  for (const k of Object.keys(r.relErrors).filter((n) => ZERO_GRADIENT.has(n))) {
    expect(Math.hypot(...r.analytic[k])).toBeLessThanOrEqual(1e-12);
    expect(Math.hypot(...r.numeric[k])).toBeLessThanOrEqual(1e-7);
  }
}

describe('causal transformer block: every parameter gradient vs float64 finite differences', () => {
  test.each([
    ['LayerNorm, GELU erf form (float64: erf64 decomposition)', 'layernorm' as Norm, false],
    ['RMSNorm, GELU tanh form', 'rmsnorm' as Norm, true],
  ])('%s', async (_n, norm, approx) => {
    const shapes = { x: [B, T, D], ...blockShapes(norm) };
    await expectAllParamsOk((g) => {
      const P = lookup(g, shapes);
      return block(P('x'), P, norm, approx);
    }, values(shapes, 1), Object.keys(shapes));
  });

  // tanh GELU from here on: the float64 erf64 decomposition (~180 nodes per GELU) is covered above and is slow.
  test('embedding → block → final LayerNorm → LM head → token cross-entropy (ignored labels, repeated ids)', async () => {
    const shapes = { emb: [V, D], pos: [T, D], ...blockShapes('layernorm'), 'lnf.s': [D], 'lnf.b': [D], head: [D, V] };
    const ids = [3, 1, 3, 6, 0, 2, 2, 5];
    const labels = [1, 3, 6, -100, -100, 2, 5, -100];
    await expectAllParamsOk((g) => {
      const P = lookup(g, shapes);
      const x = P('emb').gather(g.input('ids', [B, T], 'int64')).add(P('pos'));
      const logits = normalize(block(x, P, 'layernorm', true), P, 'lnf', 'layernorm').linear(P('head'));
      return tokenCE(logits, g.input('labels', [B, T], 'int64'));
    }, { ...values(shapes, 2), ids: BigInt64Array.from(ids.map(BigInt)), labels: BigInt64Array.from(labels.map(BigInt)) }, Object.keys(shapes));
  });

  test('the mask is causal: output position t has exactly zero gradient from inputs after t, non-zero from t and before', async () => {
    const shapes = { x: [B, T, D], ...blockShapes('layernorm') };
    const g = new Graph();
    const P = lookup(g, shapes);
    const out = block(P('x'), P, 'layernorm', true);
    const outputs: Record<string, Tensor> = {};
    for (let t = 0; t < T; t++) outputs[`dx_${t}`] = grad(out.slice([t], [t + 1], [1]).sum(), [P('x')])[0];
    const c = await CompiledGraph.compile(g, outputs, { threads: 1 });
    const res = await c.run(values(shapes, 3));
    await c.release();
    for (let t = 0; t < T; t++) {
      const dx = res[`dx_${t}`].data as Float64Array;
      for (let s = 0; s < T; s++) {
        const at = Array.from({ length: B * D }, (_, i) => dx[(Math.floor(i / D) * T + s) * D + (i % D)]);
        if (s > t) expect(at.every((v) => v === 0)).toBe(true);
        else expect(Math.hypot(...at)).toBeGreaterThan(1e-6);
      }
    }
  });
});

describe('the project\'s model code (src/models) in float64', () => {
  test('models/transformer.ts block (fused QKV): every parameter gradient', async () => {
    const cfg = { dModel: D, heads: H, mlpHidden: HIDDEN, norm: 'layernorm' as const, geluApprox: true };
    const store = new ParamStore();
    initBlock(store, 'blk', cfg, new Rng(1), 0.02);
    const shapes: Record<string, readonly number[]> = { x: [B, T, D] };
    for (const e of store.entries()) shapes[e.name] = e.shape;
    await expectAllParamsOk((g) => {
      const P = lookup(g, shapes);
      return modelBlock(P('x'), P, 'blk', cfg, g.constant(Float64Array.from(causalMaskValues(T)), [T, T], F));
    }, values(shapes, 4), Object.keys(shapes));
  });
});
