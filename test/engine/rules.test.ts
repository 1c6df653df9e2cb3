/**
 * Every backward rule in src/engine/autodiff.ts against central finite differences of the same forward
 * graph in float64 (gradCheck: eps 1e-6, relative error ‖analytic − numeric‖₂ / ‖numeric‖₂ ≤ 1e-5).
 *
 * Ops with kinks (Abs, Relu, Clip, ReduceMax ties, Where on a comparison of x) get inputs drawn at least
 * 0.05 away from every kink, far beyond the 1e-6 step, so finite differences never straddle one.
 * ORT has no float64 kernel for Erf: in float64 the erf form of GELU goes through the decomposed erf64
 * of graph.ts (so it checks the composition, not the Erf rule); the Erf rule itself and the float32-only
 * branch of the LayerNormalization rule are checked in float32 against float64 finite differences below.
 */
import { describe, test, expect } from '@jest/globals';
import { Graph, Tensor, patchify } from '../../src/engine/graph.ts';
import { grad } from '../../src/engine/autodiff.ts';
import { centralDifferences, gradCheck, relativeError, type GradCheckResult } from '../../src/engine/gradcheck.ts';
import { CompiledGraph, type Feeds } from '../../src/engine/session.ts';
import { type DType } from '../../src/engine/dtype.ts';
import { Rng } from '../../src/util/rng.ts';

const F = 'float64';
const TOL = 1e-5;
type Shape = number[];
type Build = (g: Graph) => Tensor;

const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);
const p = (g: Graph, name: string, shape: Shape): Tensor => g.param(name, shape, F);

let seedCounter = 100;
/** N(0, 1) values. */
function randn(shape: Shape, seed = seedCounter++): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: size(shape) }, () => rng.normal());
}
/** Values in [0.5, 2.5): inside the domain of sqrt, log, x^0.5, 1/x. */
function positive(shape: Shape, seed = seedCounter++): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: size(shape) }, () => 0.5 + 2 * rng.next());
}
/** N(0, 1.5²) values at least `margin` away from every kink. */
function awayFrom(shape: Shape, kinks: number[], margin = 0.05, seed = seedCounter++): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: size(shape) }, () => {
    for (;;) {
      const v = 1.5 * rng.normal();
      if (kinks.every((k) => Math.abs(v - k) >= margin)) return v;
    }
  });
}
/** Distinct values (a shuffled grid with spacing 0.1 plus small noise): no ReduceMax ties within 0.05. */
function distinct(shape: Shape, seed = seedCounter++): Float64Array {
  const rng = new Rng(seed);
  const grid = rng.shuffle(Array.from({ length: size(shape) }, (_, i) => i));
  return Float64Array.from(grid, (i) => 0.1 * i - 0.05 * size(shape) + 0.04 * rng.next());
}
const int64 = (xs: number[]): BigInt64Array => BigInt64Array.from(xs.map(BigInt));
const norm = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

/**
 * Run gradCheck and assert every parameter's relative error ≤ tol, and that its finite-difference
 * gradient is not all zero (an all-zero comparison could not fail).
 */
async function expectGradOk(build: Build, values?: Feeds, opts: { tol?: number; eps?: number; zeroOk?: string[] } = {}): Promise<GradCheckResult> {
  const r = await gradCheck(build, { values, eps: opts.eps });
  const tol = opts.tol ?? TOL;
  const bad = Object.entries(r.relErrors).filter(([, e]) => !(e <= tol));
  expect(bad).toEqual([]);
  const zero = Object.keys(r.numeric).filter((k) => !(opts.zeroOk ?? []).includes(k) && norm(r.numeric[k]) < 1e-8);
  expect(zero).toEqual([]);
  return r;
}

interface Case {
  name: string;
  build: Build;
  values?: Feeds;
}
const cases = (xs: Case[]): [string, Case][] => xs.map((c) => [c.name, c]);

const elementwise: Case[] = [
  { name: 'Add same shape', build: (g) => p(g, 'a', [2, 3]).add(p(g, 'b', [2, 3])) },
  { name: 'Add broadcast [2,3,4] + [4]', build: (g) => p(g, 'a', [2, 3, 4]).add(p(g, 'b', [4])) },
  { name: 'Add broadcast both [3,1] + [1,4]', build: (g) => p(g, 'a', [3, 1]).add(p(g, 'b', [1, 4])) },
  { name: 'Add rank-0 + [2,3]', build: (g) => p(g, 'a', []).add(p(g, 'b', [2, 3])) },
  { name: 'Add constant', build: (g) => p(g, 'a', [2, 3]).add(1.5) },
  { name: 'Sub same shape', build: (g) => p(g, 'a', [2, 3]).sub(p(g, 'b', [2, 3])) },
  { name: 'Sub broadcast both [3,1] − [1,4]', build: (g) => p(g, 'a', [3, 1]).sub(p(g, 'b', [1, 4])) },
  { name: 'Sub broadcast [4] − [2,3,4]', build: (g) => p(g, 'a', [4]).sub(p(g, 'b', [2, 3, 4])) },
  { name: 'Mul same shape', build: (g) => p(g, 'a', [2, 3]).mul(p(g, 'b', [2, 3])) },
  { name: 'Mul broadcast both [3,1] · [1,4]', build: (g) => p(g, 'a', [3, 1]).mul(p(g, 'b', [1, 4])) },
  { name: 'Mul broadcast [2,3,4] · [3,1]', build: (g) => p(g, 'a', [2, 3, 4]).mul(p(g, 'b', [3, 1])) },
  {
    name: 'Div broadcast both [3,1] / [1,4]',
    build: (g) => p(g, 'a', [3, 1]).div(p(g, 'b', [1, 4])),
    values: { b: awayFrom([1, 4], [0], 0.5) },
  },
  {
    name: 'Div broadcast [2,3,4] / [4]',
    build: (g) => p(g, 'a', [2, 3, 4]).div(p(g, 'b', [4])),
    values: { b: positive([4]) },
  },
  {
    name: 'Div broadcast [4] / [2,3,4]',
    build: (g) => p(g, 'a', [4]).div(p(g, 'b', [2, 3, 4])),
    values: { b: positive([2, 3, 4]) },
  },
  { name: 'Neg', build: (g) => p(g, 'x', [2, 3]).neg() },
  { name: 'Pow 2', build: (g) => p(g, 'x', [2, 3]).pow(2) },
  { name: 'Pow 3 (negative inputs too)', build: (g) => p(g, 'x', [2, 3]).pow(3) },
  { name: 'Pow 0.5', build: (g) => p(g, 'x', [2, 3]).pow(0.5), values: { x: positive([2, 3]) } },
  { name: 'Pow −1', build: (g) => p(g, 'x', [2, 3]).pow(-1), values: { x: awayFrom([2, 3], [0], 0.3) } },
  { name: 'Sqrt', build: (g) => p(g, 'x', [2, 3]).sqrt(), values: { x: positive([2, 3]) } },
  { name: 'Exp', build: (g) => p(g, 'x', [2, 3]).exp() },
  { name: 'Log', build: (g) => p(g, 'x', [2, 3]).log(), values: { x: positive([2, 3]) } },
  { name: 'Abs (away from 0)', build: (g) => p(g, 'x', [3, 4]).abs(), values: { x: awayFrom([3, 4], [0]) } },
  { name: 'Reciprocal (both signs)', build: (g) => p(g, 'x', [3, 4]).reciprocal(), values: { x: awayFrom([3, 4], [0], 0.3) } },
  { name: 'Tanh', build: (g) => p(g, 'x', [3, 4]).tanh() },
  { name: 'Sigmoid', build: (g) => p(g, 'x', [3, 4]).sigmoid() },
  { name: 'Softplus', build: (g) => p(g, 'x', [3, 4]).softplus(), values: { x: Float64Array.from(randn([3, 4]), (v) => 4 * v) } },
  { name: 'logSigmoid (−softplus(−x))', build: (g) => p(g, 'x', [3, 4]).logSigmoid(), values: { x: Float64Array.from(randn([3, 4]), (v) => 4 * v) } },
  { name: 'Relu (away from 0)', build: (g) => p(g, 'x', [3, 4]).relu(), values: { x: awayFrom([3, 4], [0]) } },
  // float64: erf goes through the Maclaurin decomposition erf64 (graph.ts); ORT has no float64 Erf kernel.
  { name: 'GELU erf form (float64: decomposed erf64)', build: (g) => p(g, 'x', [3, 4]).gelu(), values: { x: Float64Array.from(randn([3, 4]), (v) => 2.5 * v) } },
  { name: 'GELU tanh form', build: (g) => p(g, 'x', [3, 4]).gelu(true), values: { x: Float64Array.from(randn([3, 4]), (v) => 2.5 * v) } },
  { name: 'erfGate u·(1 + erf(u)) (float64: decomposed erf64)', build: (g) => p(g, 'x', [3, 4]).erfGate(), values: { x: Float64Array.from(randn([3, 4]), (v) => 2 * v) } },
  {
    name: 'Clip (away from the bounds, values on both sides)',
    build: (g) => p(g, 'x', [4, 5]).clip(-0.5, 0.7),
    values: { x: awayFrom([4, 5], [-0.5, 0.7]) },
  },
];

const linalg: Case[] = [
  { name: 'MatMul 2-D', build: (g) => p(g, 'a', [3, 4]).matmul(p(g, 'b', [4, 5])) },
  { name: 'MatMul batched [2,3,4] @ [2,4,5]', build: (g) => p(g, 'a', [2, 3, 4]).matmul(p(g, 'b', [2, 4, 5])) },
  { name: 'MatMul broadcast batch [2,1,3,4] @ [3,4,5]', build: (g) => p(g, 'a', [2, 1, 3, 4]).matmul(p(g, 'b', [3, 4, 5])) },
  { name: 'MatMul 2-D @ batched [3,4] @ [2,4,5]', build: (g) => p(g, 'a', [3, 4]).matmul(p(g, 'b', [2, 4, 5])) },
  { name: 'MatMul 3-D @ 2-D weight (GEMM fast path)', build: (g) => p(g, 'a', [2, 3, 4]).matmul(p(g, 'b', [4, 5])) },
  { name: 'MatMul 4-D @ 2-D weight (GEMM fast path)', build: (g) => p(g, 'a', [2, 2, 3, 4]).matmul(p(g, 'b', [4, 5])) },
  ...[false, true].flatMap((transA) =>
    [false, true].map((transB): Case => ({
      name: `Gemm transA=${+transA} transB=${+transB} alpha=0.7 beta=1.3 bias [n]`,
      build: (g) => p(g, 'a', transA ? [4, 3] : [3, 4]).gemm(p(g, 'b', transB ? [5, 4] : [4, 5]), p(g, 'c', [5]), { transA, transB, alpha: 0.7, beta: 1.3 }),
    })),
  ),
  { name: 'Gemm bias [m,n]', build: (g) => p(g, 'a', [3, 4]).gemm(p(g, 'b', [4, 5]), p(g, 'c', [3, 5]), { beta: 0.5 }) },
  { name: 'Gemm bias [m,1]', build: (g) => p(g, 'a', [3, 4]).gemm(p(g, 'b', [4, 5]), p(g, 'c', [3, 1])) },
  { name: 'Gemm no bias, alpha=−2', build: (g) => p(g, 'a', [4, 3]).gemm(p(g, 'b', [5, 4]), null, { transA: true, transB: true, alpha: -2 }) },
  { name: 'linear 3-D x with bias', build: (g) => p(g, 'x', [2, 3, 4]).linear(p(g, 'w', [4, 5]), p(g, 'b', [5])) },
  { name: 'linear 2-D x with bias', build: (g) => p(g, 'x', [3, 4]).linear(p(g, 'w', [4, 5]), p(g, 'b', [5])) },
  { name: 'linear 1-D x without bias', build: (g) => p(g, 'x', [4]).linear(p(g, 'w', [4, 5])) },
];

const shapes: Case[] = [
  { name: 'Transpose perm [1,2,0]', build: (g) => p(g, 'x', [2, 3, 4]).transpose([1, 2, 0]) },
  { name: 'Transpose default (reverse)', build: (g) => p(g, 'x', [2, 3, 4]).transpose() },
  { name: 'Reshape [2,3,4] → [6,−1]', build: (g) => p(g, 'x', [2, 3, 4]).reshape([6, -1]) },
  { name: 'Unsqueeze axes [0,3]', build: (g) => p(g, 'x', [2, 3]).unsqueeze([0, 3]) },
  { name: 'Unsqueeze axis −1', build: (g) => p(g, 'x', [2, 3]).unsqueeze(-1) },
  { name: 'Squeeze axes [1,3]', build: (g) => p(g, 'x', [2, 1, 3, 1]).squeeze([1, 3]) },
  { name: 'Squeeze axis −1', build: (g) => p(g, 'x', [2, 3, 1]).squeeze(-1) },
  { name: 'Expand [3,1] → [2,3,4]', build: (g) => p(g, 'x', [3, 1]).expand([2, 3, 4]) },
  { name: 'Expand [4] → [3,4]', build: (g) => p(g, 'x', [4]).expand([3, 4]) },
  { name: 'Concat three inputs, axis 1', build: (g) => Tensor.concat([p(g, 'a', [2, 3]), p(g, 'b', [2, 1]), p(g, 'c', [2, 2])], 1) },
  { name: 'Concat axis 0 with one input twice', build: (g) => { const a = p(g, 'a', [2, 3]); return Tensor.concat([a, p(g, 'b', [1, 3]), a], 0); } },
  { name: 'Concat axis −1 (rank 3)', build: (g) => Tensor.concat([p(g, 'a', [2, 2, 3]), p(g, 'b', [2, 2, 2])], -1) },
  { name: 'Slice [1,0]..[3,4]', build: (g) => p(g, 'x', [4, 5]).slice([1, 0], [3, 4]) },
  { name: 'Slice negative indices [−3,1]..[−1,−1]', build: (g) => p(g, 'x', [4, 5]).slice([-3, 1], [-1, -1]) },
  { name: 'Slice one axis of three (axis 2, −3..−1)', build: (g) => p(g, 'x', [2, 3, 5]).slice([-3], [-1], [2]) },
  {
    name: 'Split [1,2,3] axis 1, middle output unused',
    build: (g) => { const [a, , c] = p(g, 'x', [3, 6]).split([1, 2, 3], 1); return Tensor.concat([a.mul(2), c], 1); },
  },
  {
    name: 'Split axis 0, every output used',
    build: (g) => { const [a, b] = p(g, 'x', [4, 3]).split([1, 3], 0); return b.mul(a).exp(); },
  },
  {
    name: 'Gather embedding lookup, 2-D ids with repeats',
    build: (g) => p(g, 'e', [6, 3]).gather(g.constant([0, 2, 2, 5, 2, 0], [2, 3], 'int64')),
  },
  {
    name: 'Gather rows of a rank-3 table, negative ids',
    build: (g) => p(g, 'e', [5, 2, 3]).gather(g.constant([-1, 1, 4, -1], [4], 'int64')),
  },
  {
    name: 'GatherElements axis 1 with repeats',
    build: (g) => p(g, 'x', [3, 5]).gatherElements(g.constant([0, 4, 4, 1, 2, 2], [3, 2], 'int64'), 1),
  },
  {
    name: 'GatherElements axis 0, negative indices',
    build: (g) => p(g, 'x', [3, 4]).gatherElements(g.constant([0, -1, 2, 1, 2, 2, -3, 0], [2, 4], 'int64'), 0),
  },
  {
    name: 'labelLogProbs (fused log-softmax + gather) with an ignored row and repeated labels',
    build: (g) => p(g, 'x', [5, 7]).labelLogProbs(g.constant([0, 3, -100, 6, 3], [5], 'int64')),
  },
  {
    name: 'Where constant cond [3,1], a [1,4], b [4]',
    build: (g) => Tensor.where(g.constant([1, 0, 1], [3, 1], 'bool'), p(g, 'a', [1, 4]), p(g, 'b', [4])),
  },
  {
    name: 'Where with a number branch',
    build: (g) => Tensor.where(g.constant([1, 0, 0, 1, 1, 0], [2, 3], 'bool'), p(g, 'a', [2, 3]), 2),
  },
  {
    name: 'Where on a comparison of x itself (away from 0)',
    build: (g) => { const x = p(g, 'x', [3, 4]); return Tensor.where(x.greater(0), x.mul(2), x.exp()); },
    values: { x: awayFrom([3, 4], [0]) },
  },
  { name: 'Pad [1,0,2,1] value 0.3', build: (g) => p(g, 'x', [3, 4]).pad([1, 0, 2, 1], 0.3) },
  { name: 'Pad rank 3', build: (g) => p(g, 'x', [2, 2, 3]).pad([0, 1, 2, 1, 0, 1]) },
];

const reductions: Case[] = [
  { name: 'ReduceSum all axes', build: (g) => p(g, 'x', [2, 3, 4]).sum() },
  { name: 'ReduceSum axis 1', build: (g) => p(g, 'x', [2, 3, 4]).sum(1) },
  { name: 'ReduceSum axes [0,2] keepdims', build: (g) => p(g, 'x', [2, 3, 4]).sum([0, 2], true) },
  { name: 'ReduceSum axis −1 keepdims', build: (g) => p(g, 'x', [2, 3, 4]).sum(-1, true) },
  { name: 'ReduceSum empty axis list (identity)', build: (g) => p(g, 'x', [2, 3]).sum([]) },
  { name: 'ReduceMean all axes', build: (g) => p(g, 'x', [2, 3, 4]).mean() },
  { name: 'ReduceMean axes [0,2]', build: (g) => p(g, 'x', [2, 3, 4]).mean([0, 2]) },
  { name: 'ReduceMean axis −1 keepdims', build: (g) => p(g, 'x', [2, 3, 4]).mean(-1, true) },
  { name: 'ReduceMax axis −1 keepdims (distinct values)', build: (g) => p(g, 'x', [3, 5]).max(-1, true), values: { x: distinct([3, 5]) } },
  { name: 'ReduceMax axis 1, keepdims false', build: (g) => p(g, 'x', [2, 3, 4]).max(1), values: { x: distinct([2, 3, 4]) } },
  { name: 'ReduceMax axes [0,2]', build: (g) => p(g, 'x', [2, 3, 4]).max([0, 2]), values: { x: distinct([2, 3, 4]) } },
  { name: 'ReduceMax all axes', build: (g) => p(g, 'x', [2, 3, 4]).max(), values: { x: distinct([2, 3, 4]) } },
  { name: 'Softmax axis −1', build: (g) => p(g, 'x', [2, 3, 4]).softmax(-1) },
  { name: 'Softmax axis 0', build: (g) => p(g, 'x', [2, 3, 4]).softmax(0) },
  { name: 'Softmax axis 1', build: (g) => p(g, 'x', [2, 3, 4]).softmax(1) },
  { name: 'LogSoftmax axis −1', build: (g) => p(g, 'x', [2, 3, 4]).logSoftmax(-1) },
  { name: 'LogSoftmax axis 0', build: (g) => p(g, 'x', [2, 3, 4]).logSoftmax(0) },
  { name: 'LogSoftmax axis 1', build: (g) => p(g, 'x', [2, 3, 4]).logSoftmax(1) },
  { name: 'LayerNormalization with bias', build: (g) => p(g, 'x', [2, 3, 5]).layerNorm(p(g, 's', [5]), p(g, 'b', [5])) },
  { name: 'LayerNormalization without bias', build: (g) => p(g, 'x', [3, 5]).layerNorm(p(g, 's', [5]), null) },
  { name: 'LayerNormalization rank-1 input', build: (g) => p(g, 'x', [5]).layerNorm(p(g, 's', [5]), p(g, 'b', [5])) },
  { name: 'LayerNormalization eps 0.1', build: (g) => p(g, 'x', [3, 5]).layerNorm(p(g, 's', [5]), p(g, 'b', [5]), 0.1) },
  { name: 'RMSNorm rank 2', build: (g) => p(g, 'x', [3, 5]).rmsNorm(p(g, 's', [5])) },
  { name: 'RMSNorm rank 3', build: (g) => p(g, 'x', [2, 3, 5]).rmsNorm(p(g, 's', [5]), 1e-3) },
];

const misc: Case[] = [
  { name: 'Identity', build: (g) => { const x = p(g, 'x', [2, 3]); return g.op1('Identity', [x], {}, x.shape, x.dtype).mul(x); } },
  {
    name: 'Cast int → float carries no gradient (argmax index used as a factor)',
    build: (g) => { const x = p(g, 'x', [3, 4]); return x.mul(x.argmax(-1, true).cast(F)); },
    values: { x: distinct([3, 4]) },
  },
  {
    name: 'fan-out: one value reused several times',
    build: (g) => {
      const x = p(g, 'x', [3, 3]);
      return x.mul(x).add(x.exp()).add(x.matmul(x.transpose())).add(x.sum(0, true)).sub(x.softmax(-1));
    },
  },
];

describe('backward rules vs float64 central finite differences (relative error ≤ 1e-5)', () => {
  describe('elementwise', () => {
    test.each(cases(elementwise))('%s', async (_n, c) => { await expectGradOk(c.build, c.values); });
  });
  describe('linear algebra', () => {
    test.each(cases(linalg))('%s', async (_n, c) => { await expectGradOk(c.build, c.values); });
  });
  describe('shape and indexing', () => {
    test.each(cases(shapes))('%s', async (_n, c) => { await expectGradOk(c.build, c.values); });
  });
  describe('reductions and normalisation', () => {
    test.each(cases(reductions))('%s', async (_n, c) => { await expectGradOk(c.build, c.values); });
  });
  describe('misc', () => {
    test.each(cases(misc))('%s', async (_n, c) => { await expectGradOk(c.build, c.values); });
  });
});

/** Compile and run: analytic gradients of sum(out · w) for the given weights. */
async function analyticGrads(build: Build, w: Float64Array, feeds: Feeds): Promise<Record<string, Float64Array>> {
  const g = new Graph();
  const out = build(g);
  const loss = out.mul(g.constant(w, out.shape, F)).sum();
  const params = g.params();
  const gs = grad(loss, params);
  const compiled = await CompiledGraph.compile(g, Object.fromEntries(params.map((q, i) => [`grad_${q.name}`, gs[i]])), { threads: 1 });
  const res = await compiled.run(feeds);
  await compiled.release();
  return Object.fromEntries(params.map((q) => [q.name, Float64Array.from(res[`grad_${q.name}`].data as Float64Array)]));
}

describe('exact gradients by hand: StopGradient, unused inputs, ReduceMax ties', () => {
  test('ReduceMax ties share the gradient equally (PyTorch amax convention), by hand', async () => {
    // rows [1, 3, 3] and [2, 0, −1]; d/dx sum(max(x, −1) · [2, −1])
    const gx = await analyticGrads((g) => p(g, 'x', [2, 3]).max(-1), Float64Array.from([2, -1]), { x: Float64Array.from([1, 3, 3, 2, 0, -1]) });
    expect(Array.from(gx.x, (v) => v + 0)).toEqual([0, 1, 1, -1, 0, 0]); // + 0 folds −0 into 0
  });

  test('the gradient through StopGradient (detach) is exactly zero', async () => {
    const x = randn([2, 3]);
    const w = randn([2, 3]);
    const through = await analyticGrads((g) => p(g, 'x', [2, 3]).detach(), w, { x });
    expect(Array.from(through.x)).toEqual([0, 0, 0, 0, 0, 0]);
    // detach(x)·x: only the second factor carries a gradient, so d/dx sum(detach(x)·x·w) = x·w (not 2x·w).
    const half = await analyticGrads((g) => { const v = p(g, 'x', [2, 3]); return v.detach().mul(v); }, w, { x });
    expect(Array.from(half.x)).toEqual(Array.from(x, (v, i) => v * w[i]));
  });

  test('an input the loss does not depend on gets exact zeros', async () => {
    const r = await expectGradOk((g) => {
      const x = p(g, 'x', [2, 3]);
      p(g, 'unused', [4]);
      return x.tanh();
    }, undefined, { zeroOk: ['unused'] });
    expect(Array.from(r.analytic.unused)).toEqual([0, 0, 0, 0]);
    expect(Array.from(r.numeric.unused)).toEqual([0, 0, 0, 0]);
  });

  test('Gather along an axis other than 0 has no rule and says so', async () => {
    await expect(gradCheck((g) => p(g, 'x', [3, 4]).gather(g.constant([1], [1], 'int64'), 1))).rejects.toThrow('only axis 0');
  });
});

describe('Cast through float32', () => {
  // float64 → float32 → float64 rounds every value to 24 bits, so the function is a staircase at the
  // 1e-7 scale and eps = 1e-6 would measure the stairs. Central differences are exact for a quadratic
  // at any step, so the smooth part here is quadratic (y² + x with y = 1.5x through float32) and the step
  // is eps = 0.05. Each evaluation of y carries ≤ 2 float32 roundings (u = 2⁻²⁴ ≈ 6e-8 each), so y² is
  // off by ≤ 4u·y² and the difference quotient by ≤ 2·4u·y²/(2·eps) = 80u·y² ≈ 1.1e-5·x², against a
  // gradient 4.5x + 1: ≲ 1e-5 relative for |x| ≤ 3. Tolerance 1e-4 (measured 7e-7).
  test('float64 → float32 → float64 on a quadratic, eps 0.05, tolerance 1e-4', async () => {
    const r = await gradCheck((g) => {
      const x = p(g, 'x', [3, 4]);
      const y = x.cast('float32').mul(1.5).cast(F);
      return y.mul(y).add(x);
    }, { eps: 0.05, values: { x: randn([3, 4]) } });
    expect(r.maxRelError).toBeLessThanOrEqual(1e-4);
    expect(norm(r.numeric.x)).toBeGreaterThan(1);
  });
});

/**
 * Float32-only rule branches: the analytic gradient of the float32 graph against central finite
 * differences (eps 1e-6) of the float64 graph built by the same code at the same (float32-representable)
 * point. For Erf the float64 reference is the decomposed erf64, the only float64 erf ORT can run.
 */
async function float32VsFloat64(build: (g: Graph, dt: DType) => Tensor, values: Record<string, Float64Array>): Promise<Record<string, number>> {
  const point = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Float64Array.from(v, Math.fround)]));
  const rng = new Rng(7);

  const g32 = new Graph();
  const out32 = build(g32, 'float32');
  const w = Float64Array.from({ length: out32.size }, () => Math.fround(rng.normal()));
  const loss32 = out32.mul(g32.constant(Float32Array.from(w), out32.shape, 'float32')).sum();
  const params = g32.params();
  const grads32 = grad(loss32, params);
  const c32 = await CompiledGraph.compile(g32, Object.fromEntries(params.map((q, i) => [`grad_${q.name}`, grads32[i]])), { threads: 1 });
  const res32 = await c32.run(Object.fromEntries(Object.entries(point).map(([k, v]) => [k, Float32Array.from(v)])));
  await c32.release();

  const g64 = new Graph();
  const out64 = build(g64, F);
  const loss64 = out64.mul(g64.constant(w, out64.shape, F)).sum();
  const c64 = await CompiledGraph.compile(g64, { loss: loss64 }, { threads: 1 });
  const lossAt = async (): Promise<number> => Number((await c64.run(point)).loss.data[0]);
  const rel: Record<string, number> = {};
  for (const q of params) {
    rel[q.name] = relativeError(res32[`grad_${q.name}`].data as Float32Array, await centralDifferences(point[q.name], lossAt, 1e-6));
  }
  await c64.release();
  return rel;
}

describe('float32-only rule branches vs float64 finite differences', () => {
  // Float32 round-off (2⁻²⁴ ≈ 6e-8 per operation, a few dozen operations deep here) bounds the
  // attainable agreement near 1e-6; the measured errors are 3e-8 – 1e-7, so the 1e-5 still applies.
  test('Erf rule (float32 kernel; reference: float64 decomposed erf64)', async () => {
    const rel = await float32VsFloat64((g, dt) => g.param('x', [3, 5], dt).erf(), { x: Float64Array.from(randn([3, 5]), (v) => 1.5 * v) });
    expect(rel.x).toBeLessThanOrEqual(1e-5);
  });
  test('GELU erf form in float32 (Erf kernel) vs float64 (erf64)', async () => {
    const rel = await float32VsFloat64((g, dt) => g.param('x', [3, 5], dt).gelu(), { x: Float64Array.from(randn([3, 5]), (v) => 2 * v) });
    expect(rel.x).toBeLessThanOrEqual(1e-5);
  });
  // float32 matmuls with transposes or a scale are onnxruntime's FusedMatMul, which has no float64
  // kernel (float64 spells them out as Transpose + MatMul + Mul): its rule is checked here.
  describe.each([
    [false, false], [true, false], [false, true], [true, true],
  ])('FusedMatMul rule, transA=%s transB=%s, alpha 0.6, broadcast batch', (transA, transB) => {
    const build = (g: Graph, dt: DType): Tensor =>
      g.param('a', transA ? [2, 1, 4, 3] : [2, 1, 3, 4], dt).matmul(g.param('b', transB ? [3, 5, 4] : [3, 4, 5], dt), { transA, transB, alpha: 0.6 });
    test('is a FusedMatMul node in float32 and plain ONNX when portable', () => {
      const ops = (g: Graph): string[] => g.nodes.map((n) => n.op);
      const g32 = new Graph();
      build(g32, 'float32');
      expect(ops(g32)).toEqual(['FusedMatMul']);
      const portable = new Graph({ portable: true });
      build(portable, 'float32');
      expect(ops(portable)).not.toContain('FusedMatMul');
      expect(ops(portable)).toContain('MatMul');
    });
    test('gradients match float64 finite differences', async () => {
      const rel = await float32VsFloat64(build, { a: randn([2 * 3 * 4]), b: randn([3 * 4 * 5]) });
      expect(Object.entries(rel).filter(([, e]) => !(e <= 1e-5))).toEqual([]);
      expect(Object.keys(rel).sort()).toEqual(['a', 'b']);
    });
  });
  test('erfGate in float32 (Erf kernel) vs float64 (erf64)', async () => {
    const rel = await float32VsFloat64((g, dt) => g.param('x', [3, 5], dt).erfGate(), { x: Float64Array.from(randn([3, 5]), (v) => 1.5 * v) });
    expect(rel.x).toBeLessThanOrEqual(1e-5);
  });
  test('LayerNormalization float32 branch (uses the kernel\'s saved mean and inverse std)', async () => {
    const rel = await float32VsFloat64(
      (g, dt) => g.param('x', [2, 3, 6], dt).layerNorm(g.param('s', [6], dt), g.param('b', [6], dt)),
      { x: randn([2, 3, 6]), s: randn([6]), b: randn([6]) },
    );
    expect(Object.entries(rel).filter(([, e]) => !(e <= 1e-5))).toEqual([]);
  });
  test('LayerNormalization float32 branch without bias', async () => {
    const rel = await float32VsFloat64(
      (g, dt) => g.param('x', [4, 6], dt).layerNorm(g.param('s', [6], dt), null),
      { x: randn([4, 6]), s: randn([6]) },
    );
    expect(Object.entries(rel).filter(([, e]) => !(e <= 1e-5))).toEqual([]);
  });
});

describe('patchify (patch embedding)', () => {
  test('element order on a hand-computed case: [1,2,4,4] images, 2×2 patches', async () => {
    // pixel (c, y, x) holds 100c + 10y + x
    const img = Float64Array.from({ length: 32 }, (_, i) => 100 * Math.floor(i / 16) + 10 * Math.floor((i % 16) / 4) + (i % 4));
    const g = new Graph();
    const out = patchify(g.input('img', [1, 2, 4, 4], F), 2);
    expect(out.shape).toEqual([1, 4, 8]);
    const c = await CompiledGraph.compile(g, { out }, { threads: 1 });
    const res = await c.run({ img });
    await c.release();
    // patches row-major over the 2×2 grid; inside a patch: channel, then row, then column
    expect(Array.from(res.out.data as Float64Array)).toEqual([
      0, 1, 10, 11, 100, 101, 110, 111,
      2, 3, 12, 13, 102, 103, 112, 113,
      20, 21, 30, 31, 120, 121, 130, 131,
      22, 23, 32, 33, 122, 123, 132, 133,
    ]);
  });

  test('patchify → linear equals a stride-p convolution written out in plain loops', async () => {
    const [B, C, H, W, P, D] = [2, 3, 4, 6, 2, 5];
    const img = randn([B, C, H, W]);
    const kernel = randn([D, C, P, P]); // Conv2d weight layout
    const bias = randn([D]);
    // linear weight [C·P·P, D] = kernel reshaped to [D, C·P·P], transposed
    const wLin = new Float64Array(C * P * P * D);
    for (let d = 0; d < D; d++) for (let k = 0; k < C * P * P; k++) wLin[k * D + d] = kernel[d * C * P * P + k];
    const g = new Graph();
    const out = patchify(g.input('img', [B, C, H, W], F), P).linear(g.input('w', [C * P * P, D], F), g.input('b', [D], F));
    const c = await CompiledGraph.compile(g, { out }, { threads: 1 });
    const got = (await c.run({ img, w: wLin, b: bias })).out.data as Float64Array;
    await c.release();
    const [GH, GW] = [H / P, W / P];
    const expected: number[] = [];
    for (let b = 0; b < B; b++) for (let gy = 0; gy < GH; gy++) for (let gx = 0; gx < GW; gx++) for (let d = 0; d < D; d++) {
      let s = bias[d];
      for (let ch = 0; ch < C; ch++) for (let dy = 0; dy < P; dy++) for (let dx = 0; dx < P; dx++) {
        s += kernel[((d * C + ch) * P + dy) * P + dx] * img[((b * C + ch) * H + gy * P + dy) * W + gx * P + dx];
      }
      expected.push(s);
    }
    expect(got.length).toBe(expected.length);
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - expected[i])))).toBeLessThan(1e-12);
  });

  test('gradient of patchify', async () => {
    await expectGradOk((g) => patchify(p(g, 'img', [2, 2, 4, 6]), 2));
  });

  test('gradient of the whole patch embedding (patchify → linear)', async () => {
    await expectGradOk((g) => patchify(p(g, 'img', [2, 3, 4, 4]), 2).linear(p(g, 'w', [12, 5]), p(g, 'b', [5])));
  });

  test('sizes that do not divide into patches are refused', () => {
    const g = new Graph();
    expect(() => patchify(g.input('a', [1, 3, 5, 4], F), 2)).toThrow('do not divide into 2×2 patches');
    expect(() => patchify(g.input('b', [3, 4, 4], F), 2)).toThrow('expected images [B, C, H, W]');
  });
});

describe('customGrad', () => {
  test('the gradient comes from the rule, not from the value’s computation; the value is unchanged', async () => {
    const { Graph } = await import('../../src/engine/graph.ts');
    const { grad } = await import('../../src/engine/autodiff.ts');
    const { CompiledGraph } = await import('../../src/engine/session.ts');
    const g = new Graph();
    const x = g.param('x', [3], 'float64');
    // value x², but a rule that claims d/dx = 10 (deliberately not 2x)
    const y = g.customGrad(x.square(), [x], (go) => [go.mul(10)]);
    const [gx] = grad(y.sum(), [x]);
    const c = await CompiledGraph.compile(g, { y, gx }, { threads: 1 });
    const r = await c.run({ x: Float64Array.from([1, 2, 3]) });
    expect(Array.from(r.y.data as Float64Array)).toEqual([1, 4, 9]);
    expect(Array.from(r.gx.data as Float64Array)).toEqual([10, 10, 10]);
  });
});
