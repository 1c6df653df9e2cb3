/**
 * Loss building blocks (src/engine/losses.ts): values against plain float64 TypeScript written here from
 * the definitions (docs/SPEC.md §6), gradients against central finite differences (gradCheck), and the masking
 * and temperature behaviour the unlearning methods rely on.
 */
import { describe, test, expect } from '@jest/globals';
import { Graph, IGNORE_LABEL, type Tensor } from '../../src/engine/graph.ts';
import { grad } from '../../src/engine/autodiff.ts';
import { gradCheck } from '../../src/engine/gradcheck.ts';
import { CompiledGraph, type Feeds } from '../../src/engine/session.ts';
import { type DType } from '../../src/engine/dtype.ts';
import {
  answerMask, klDiv, logSigmoid, mse, seqLogProb, shiftForNextToken, tokenCE, tokenCEPerSample, tokenLogProbs,
} from '../../src/engine/losses.ts';
import { Rng } from '../../src/util/rng.ts';

const F = 'float64';
const [B, T, V] = [3, 4, 5];
const X = IGNORE_LABEL;
// Sample 0 scores its last two positions, sample 1 all but the first, sample 2 one position.
const LABELS = [X, X, 3, 1, X, 0, 4, 4, X, X, 2, X];

function randn(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => scale * rng.normal());
}
const LOGITS = randn(B * T * V, 1, 2);
const REF = randn(B * T * V, 2, 2);
const labels64 = (xs: number[]): BigInt64Array => BigInt64Array.from(xs.map(BigInt));

// ---- plain TypeScript reference (float64) ----
function logSoftmax(z: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(z));
  const lse = m + Math.log(Array.from(z).reduce((s, v) => s + Math.exp(v - m), 0));
  return Array.from(z, (v) => v - lse);
}
const row = (a: Float64Array, b: number, t: number): Float64Array => a.subarray((b * T + t) * V, (b * T + t + 1) * V);
function refTokenLogProbs(logits: Float64Array, labels: number[]): number[] {
  return labels.map((y, i) => (y === X ? 0 : logSoftmax(row(logits, Math.floor(i / T), i % T))[y]));
}
function refKL(ref: Float64Array, logits: Float64Array, labels: number[], temp: number): number {
  let sum = 0, n = 0;
  labels.forEach((y, i) => {
    if (y === X) return;
    const lp = logSoftmax(Array.from(row(ref, Math.floor(i / T), i % T), (v) => v / temp));
    const lq = logSoftmax(Array.from(row(logits, Math.floor(i / T), i % T), (v) => v / temp));
    sum += lp.reduce((s, l, v) => s + Math.exp(l) * (l - lq[v]), 0);
    n++;
  });
  return (sum / n) * temp * temp;
}
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void => {
  expect(a.length).toBe(b.length);
  const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))));
  expect(worst).toBeLessThanOrEqual(tol);
};

/** Build and run a forward graph on logits/ref [B,T,V] and labels [B,T]; returns each output's values. */
async function evaluate(build: (z: Tensor, ref: Tensor, y: Tensor, g: Graph) => Record<string, Tensor>, feeds: { logits?: Float64Array; ref?: Float64Array; labels?: number[] } = {}, dtype: DType = F): Promise<Record<string, number[]>> {
  const g = new Graph();
  const z = g.input('logits', [B, T, V], dtype);
  const ref = g.input('ref', [B, T, V], dtype);
  const y = g.input('labels', [B, T], 'int64');
  const outs = build(z, ref, y, g);
  const c = await CompiledGraph.compile(g, outs, { threads: 1 });
  const cast = (a: Float64Array): Float64Array | Float32Array => (dtype === F ? a : Float32Array.from(a));
  const all: Feeds = { logits: cast(feeds.logits ?? LOGITS), ref: cast(feeds.ref ?? REF), labels: labels64(feeds.labels ?? LABELS) };
  const res = await c.run(Object.fromEntries(c.inputs.map((t) => [t.name, all[t.name]])));
  await c.release();
  return Object.fromEntries(Object.keys(outs).map((k) => [k, Array.from(res[k].data as Float64Array, Number)]));
}

describe('values against plain TypeScript (float64)', () => {
  const lp = refTokenLogProbs(LOGITS, LABELS);
  const counts = [2, 3, 1];

  test('tokenLogProbs: log p(label) per position, exactly +0 where ignored; answerMask', async () => {
    const r = await evaluate((z, _r, y) => ({ lp: tokenLogProbs(z, y), mask: answerMask(y, F) }));
    close(r.lp, lp, 1e-13);
    LABELS.forEach((l, i) => { if (l === X) expect(Object.is(r.lp[i], 0)).toBe(true); });
    expect(r.mask).toEqual(LABELS.map((l) => (l === X ? 0 : 1)));
  });

  test('tokenCE = −Σ log p / number of scored tokens (PyTorch cross_entropy, ignore_index −100)', async () => {
    const r = await evaluate((z, _r, y) => ({ ce: tokenCE(z, y) }));
    close(r.ce, [-lp.reduce((s, v) => s + v, 0) / 6], 1e-13);
  });

  test('tokenCEPerSample and seqLogProb per sample', async () => {
    const r = await evaluate((z, _r, y) => ({ per: tokenCEPerSample(z, y), seq: seqLogProb(z, y) }));
    const sums = [0, 1, 2].map((b) => lp.slice(b * T, (b + 1) * T).reduce((s, v) => s + v, 0));
    close(r.seq, sums, 1e-13);
    close(r.per, sums.map((s, b) => -s / counts[b]), 1e-13);
  });

  test.each([1, 2, 4])('klDiv at temperature %d: mean over scored tokens of Σ p_ref (log p_ref − log p_θ), × T²', async (temp) => {
    const r = await evaluate((z, ref, y) => ({ kl: klDiv(ref, z, y, { temperature: temp }) }));
    close(r.kl, [refKL(REF, LOGITS, LABELS, temp)], 1e-13);
    expect(r.kl[0]).toBeGreaterThan(0);
  });

  test('float32 logits give the float64 values to float32 precision', async () => {
    const r = await evaluate((z, ref, y) => ({ ce: tokenCE(z, y), seq: seqLogProb(z, y), kl: klDiv(ref, z, y, { temperature: 4 }) }), {}, 'float32');
    const sums = [0, 1, 2].map((b) => lp.slice(b * T, (b + 1) * T).reduce((s, v) => s + v, 0));
    close(r.ce, [-lp.reduce((s, v) => s + v, 0) / 6], 1e-6);
    close(r.seq, sums, 1e-6);
    close(r.kl, [refKL(REF, LOGITS, LABELS, 4)], 1e-5);
  });

  test('logSigmoid matches log σ(x) = −log1p(e^(−x)) and stays finite for large |x|', async () => {
    const xs = [-700, -100, -30, -2.5, -1e-3, 0, 1e-3, 2.5, 30, 100, 700];
    const g = new Graph();
    const out = logSigmoid(g.input('x', [xs.length], F));
    const c = await CompiledGraph.compile(g, { out }, { threads: 1 });
    const got = Array.from((await c.run({ x: Float64Array.from(xs) })).out.data as Float64Array);
    await c.release();
    const want = xs.map((x) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x))));
    xs.forEach((_, i) => expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want[i]))));
  });

  test('mse: plain mean, broadcast target, and masked over leading axes', async () => {
    const D = 3;
    const a = randn(B * T * D, 5), b = randn(B * T * D, 6), u = randn(D, 7);
    const mask = LABELS.map((l) => (l === X ? 0 : 1));
    const g = new Graph();
    const ta = g.input('a', [B, T, D], F), tb = g.input('b', [B, T, D], F), tu = g.input('u', [D], F), tm = g.input('m', [B, T], F);
    const outs = { plain: mse(ta, tb), bcast: mse(ta, tu.mul(6.5)), masked: mse(ta, tu, tm), none: mse(ta, tb, tm.mul(0)) };
    const c = await CompiledGraph.compile(g, outs, { threads: 1 });
    const r = await c.run({ a, b, u, m: Float64Array.from(mask) });
    await c.release();
    const get = (k: string): number => Number(r[k].data[0]);
    const n = B * T * D;
    close([get('plain')], [a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / n], 1e-13);
    close([get('bcast')], [a.reduce((s, v, i) => s + (v - 6.5 * u[i % D]) ** 2, 0) / n], 1e-13);
    let num = 0;
    a.forEach((v, i) => { num += mask[Math.floor(i / D)] * (v - u[i % D]) ** 2; });
    close([get('masked')], [num / (6 * D)], 1e-13);
    expect(get('none')).toBe(0);
  });

  test('shiftForNextToken moves labels one position left and ignores the last position', async () => {
    const r = await evaluate((_z, _r, y) => ({ s: shiftForNextToken(y) }), { labels: [7, 8, 9, 1, X, X, 2, 3, 4, 4, X, 0] });
    expect(r.s).toEqual([8, 9, 1, X, X, 2, 3, X, 4, X, 0, X]);
  });
});

describe('gradients against float64 finite differences (≤ 1e-5 relative)', () => {
  const feeds = (extra: Feeds = {}): Feeds => ({ logits: Float64Array.from(LOGITS), labels: labels64(LABELS), ...extra });
  const withLogits = (f: (z: Tensor, y: Tensor, g: Graph) => Tensor) => (g: Graph): Tensor =>
    f(g.param('logits', [B, T, V], F), g.input('labels', [B, T], 'int64'), g);
  const cases: [string, (z: Tensor, y: Tensor, g: Graph) => Tensor][] = [
    ['tokenLogProbs', (z, y) => tokenLogProbs(z, y)],
    ['tokenCE', (z, y) => tokenCE(z, y)],
    ['tokenCEPerSample', (z, y) => tokenCEPerSample(z, y)],
    ['seqLogProb', (z, y) => seqLogProb(z, y)],
    ['klDiv T = 1 (gradient through θ only)', (z, y, g) => klDiv(g.input('ref', [B, T, V], F), z, y)],
    ['klDiv T = 4', (z, y, g) => klDiv(g.input('ref', [B, T, V], F), z, y, { temperature: 4 })],
    ['DPO-style: logSigmoid of a margin of seqLogProbs', (z, y, g) => logSigmoid(seqLogProb(z, y).sub(g.input('refSeq', [B], F)).mul(0.1))],
  ];
  test.each(cases)('%s', async (_n, f) => {
    const r = await gradCheck(withLogits(f), { values: feeds({ ref: Float64Array.from(REF), refSeq: randn(B, 9) }) });
    expect(r.maxRelError).toBeLessThanOrEqual(1e-5);
    expect(Math.hypot(...r.numeric.logits)).toBeGreaterThan(1e-3);
  });

  test('logSigmoid', async () => {
    const r = await gradCheck((g) => logSigmoid(g.param('x', [7], F)), { values: { x: Float64Array.from([-30, -4, -1, 0.2, 1, 4, 30]) } });
    expect(r.maxRelError).toBeLessThanOrEqual(1e-5);
  });

  test('mse with a mask, both operands differentiated', async () => {
    const r = await gradCheck((g) => mse(g.param('a', [B, T, 3], F), g.param('b', [3], F), g.input('m', [B, T], F)), {
      values: { m: Float64Array.from(LABELS, (l) => (l === X ? 0 : 1)) },
    });
    expect(r.maxRelError).toBeLessThanOrEqual(1e-5);
  });
});

describe('masking, temperature and identities', () => {
  /** Analytic gradient of `loss` with respect to the logits (and optionally the reference logits). */
  async function gradients(build: (z: Tensor, ref: Tensor, y: Tensor) => Tensor, logits: Float64Array, ref: Float64Array, labels: number[]): Promise<{ loss: number; dz: Float64Array; dref: Float64Array }> {
    const g = new Graph();
    const z = g.param('logits', [B, T, V], F);
    const r = g.param('ref', [B, T, V], F);
    const loss = build(z, r, g.input('labels', [B, T], 'int64'));
    const [dz, dref] = grad(loss, [z, r]);
    const c = await CompiledGraph.compile(g, { loss, dz, dref }, { threads: 1 });
    const res = await c.run({ logits, ref, labels: labels64(labels) });
    await c.release();
    return { loss: Number(res.loss.data[0]), dz: res.dz.data as Float64Array, dref: res.dref.data as Float64Array };
  }
  const ignoredRows = LABELS.flatMap((l, i) => (l === X ? [i] : []));
  /** The logits with every ignored position overwritten by large arbitrary values. */
  const scramble = (a: Float64Array, seed: number): Float64Array => {
    const out = Float64Array.from(a);
    const noise = randn(a.length, seed, 300);
    for (const i of ignoredRows) for (let v = 0; v < V; v++) out[i * V + v] = noise[i * V + v];
    return out;
  };
  const losses: [string, (z: Tensor, ref: Tensor, y: Tensor) => Tensor][] = [
    ['tokenCE', (z, _r, y) => tokenCE(z, y)],
    ['tokenCEPerSample', (z, _r, y) => tokenCEPerSample(z, y).sum()],
    ['seqLogProb', (z, _r, y) => seqLogProb(z, y).sum()],
    ['klDiv T = 4', (z, r, y) => klDiv(r, z, y, { temperature: 4 })],
  ];

  test.each(losses)('%s: ignored positions contribute exactly nothing (value and gradient)', async (_n, build) => {
    const a = await gradients(build, LOGITS, REF, LABELS);
    const b = await gradients(build, scramble(LOGITS, 11), scramble(REF, 12), LABELS);
    expect(b.loss).toBe(a.loss);
    for (const i of ignoredRows) for (let v = 0; v < V; v++) expect(a.dz[i * V + v]).toBe(0);
    expect(Array.from(b.dz)).toEqual(Array.from(a.dz));
  });

  test('a batch without any scored token gives 0, not NaN', async () => {
    const none = LABELS.map(() => X);
    const r = await evaluate((z, ref, y) => ({ ce: tokenCE(z, y), per: tokenCEPerSample(z, y), seq: seqLogProb(z, y), kl: klDiv(ref, z, y) }), { labels: none });
    // −Σ lp gives −0 for tokenCE; + 0 folds it into 0 for the comparison.
    const plus0 = (xs: number[]): number[] => xs.map((v) => v + 0);
    expect({ ce: plus0(r.ce), per: plus0(r.per), seq: plus0(r.seq), kl: plus0(r.kl) }).toEqual({ ce: [0], per: [0, 0, 0], seq: [0, 0, 0], kl: [0] });
  });

  test('klDiv: no gradient flows into the reference logits', async () => {
    const r = await gradients((z, ref, y) => klDiv(ref, z, y, { temperature: 2 }), LOGITS, REF, LABELS);
    expect(Array.from(r.dref).every((v) => v === 0)).toBe(true);
    expect(Math.hypot(...r.dz)).toBeGreaterThan(1e-3);
  });

  test('klDiv of a distribution with itself is exactly 0, and so (to rounding) is its gradient', async () => {
    for (const temperature of [1, 4]) {
      const r = await gradients((z, _r, y) => klDiv(z, z, y, { temperature }), LOGITS, REF, LABELS);
      expect(r.loss).toBe(0);
      expect(Math.max(...Array.from(r.dz, Math.abs))).toBeLessThan(1e-15);
    }
  });

  test('temperature: KL_T(ref, z) = T² · KL_1(ref / T, z / T); T → 1 leaves the plain KL', async () => {
    const scaled = (a: Float64Array): Float64Array => Float64Array.from(a, (v) => v / 4);
    const r = await evaluate((z, ref, y) => ({ t4: klDiv(ref, z, y, { temperature: 4 }), t1: klDiv(ref, z, y, { temperature: 1 }), plain: klDiv(ref, z, y) }));
    const s = await evaluate((z, ref, y) => ({ kl: klDiv(ref, z, y) }), { logits: scaled(LOGITS), ref: scaled(REF) });
    close(r.t4, [16 * s.kl[0]], 1e-13);
    expect(r.t1).toEqual(r.plain);
    // Softening pulls both distributions towards uniform: the KL itself shrinks, T² restores the scale.
    expect(s.kl[0]).toBeLessThan(r.plain[0]);
  });

  test('bad arguments are refused with the reason', () => {
    const g = new Graph();
    const z = g.input('z', [B, T, V], F);
    expect(() => tokenCE(z, g.input('y32', [B, T], 'int32'))).toThrow('labels must be int64');
    expect(() => tokenCE(z, g.input('yshape', [B, T + 1], 'int64'))).toThrow('do not match logits');
    expect(() => klDiv(z, z, g.input('y', [B, T], 'int64'), { temperature: 0 })).toThrow('temperature must be a positive number');
    expect(() => mse(z, z, g.input('m', [T], F))).toThrow('must cover the leading axes');
  });
});

describe('labelLogProbs forward', () => {
  test('equals log softmax at the label, +0 on ignored rows (hand-computed)', async () => {
    const { Graph } = await import('../../src/engine/graph.ts');
    const { CompiledGraph } = await import('../../src/engine/session.ts');
    const g = new Graph();
    const x = g.input('x', [2, 3], 'float64');
    const y = x.labelLogProbs(g.constant([2, -100], [2], 'int64'));
    const c = await CompiledGraph.compile(g, { y }, { threads: 1 });
    const out = (await c.run({ x: Float64Array.from([1, 2, 3, 4, 5, 6]) })).y.data as Float64Array;
    // 3 − ln(e¹ + e² + e³) = −0.40760596444438...
    expect(out[0]).toBeCloseTo(-0.40760596444438, 12);
    expect(Object.is(out[1], 0)).toBe(true);
  });
});
