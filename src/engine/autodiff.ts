/**
 * Reverse-mode autodiff over the recorded graph. Each rule receives the forward node and the gradients of
 * its outputs and builds the gradients of its inputs with the same tensor API, so the backward pass is
 * ONNX nodes in the same graph as the forward pass.
 */
import { type MatMulOptions, type Node, Tensor, type Shape, sameShape } from './graph.ts';
import { isFloat } from './dtype.ts';

type Rule = (node: Node, gOut: readonly (Tensor | null)[]) => (Tensor | null)[];

/**
 * Sum over the first `k` axes, as a GEMM with a ones row: onnxruntime's ReduceSum over leading axes
 * (bias and LayerNorm-scale gradients, [B·T, n] → [n]) ran ~20× slower than the equivalent GEMM.
 */
export function sumLeading(t: Tensor, k: number): Tensor {
  const rows = t.shape.slice(0, k).reduce((a, d) => a * d, 1);
  const rest = t.shape.slice(k);
  const cols = rest.reduce((a, d) => a * d, 1);
  const ones = t.graph.scalar(1, t.dtype).expand([1, rows]);
  return ones.gemm(t.reshape([rows, cols])).reshape(rest.slice());
}

/** Sum a broadcast gradient back down to the shape of the operand it flowed from. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  // Only leading axes (a bias broadcast over rows): one GEMM.
  if (axes.length === lead && lead > 0 && isFloat(g.dtype)) return sumLeading(g, lead).reshape(shape.slice());
  const s = axes.length ? g.sum(axes, true) : g;
  return s.reshape(shape.slice());
}

/** MatMulOptions with every field given (Gemm's transA/transB/alpha mean the same). */
type Flags = Required<MatMulOptions>;
type Product = (x: Tensor, y: Tensor, flags: Flags) => Tensor;

/**
 * Gradients of Y = alpha·op(A)·op(B), op an optional transpose of the last two axes, built from products
 * of the same kind with flags, so no operand is transposed in memory: dop(A) = alpha·G·op(B)ᵀ and
 * dop(B) = alpha·op(A)ᵀ·G, transposed back where op transposes.
 */
function productGrads(a: Tensor, b: Tensor, g: Tensor, { transA: tA, transB: tB, alpha }: Flags, mul: Product): [Tensor, Tensor] {
  const ga = tA ? mul(b, g, { transA: tB, transB: true, alpha }) : mul(g, b, { transA: false, transB: !tB, alpha });
  const gb = tB ? mul(g, a, { transA: true, transB: tA, alpha }) : mul(a, g, { transA: !tA, transB: false, alpha });
  return [ga, gb];
}
const gemmProduct: Product = (x, y, f) => x.gemm(y, null, f);
const batchedProduct: Product = (x, y, f) => x.matmul(y, f);

/**
 * Gradient of alpha·op(A)·op(B) for batched A, B (MatMul, FusedMatMul). A 2-D B without flags (a linear
 * layer on a batch) takes one GEMM over the flattened batch; otherwise batched products, summed over
 * broadcast batch axes.
 */
function matmulGrads(a: Tensor, b: Tensor, g: Tensor, flags: Flags = { transA: false, transB: false, alpha: 1 }): [Tensor, Tensor] {
  if (b.rank === 2 && a.rank >= 2 && !flags.transA && !flags.transB && flags.alpha === 1) {
    const [k, n] = b.shape;
    const rows = a.size / k;
    const g2 = g.reshape([rows, n]);
    return [g2.gemm(b, null, { transB: true }).reshape(a.shape.slice()), a.reshape([rows, k]).gemm(g2, null, { transA: true })];
  }
  const [ga, gb] = productGrads(a, b, g, flags, batchedProduct);
  return [unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)];
}

/** Expand a reduced gradient (keepdims or not) back to the input's shape. */
function expandReduced(g: Tensor, x: Tensor, node: Node): Tensor {
  const axes = reduceAxes(node, x);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return g.reshape(kept).expand(x.shape.slice());
}

function reduceAxes(node: Node, x: Tensor): number[] {
  const axesT = node.inputs[1];
  if (!axesT) return x.shape.map((_, i) => i);
  const init = x.graph.initializers.find((i) => i.name === axesT.name);
  if (!init) throw new Error('reduction axes must be a constant');
  return Array.from(init.data as BigInt64Array, (v) => Number(v));
}

function constValues(t: Tensor): number[] {
  const init = t.graph.initializers.find((i) => i.name === t.name);
  if (!init) throw new Error(`${t.name} must be a constant`);
  return Array.from(init.data as ArrayLike<number | bigint>, (v) => Number(v));
}

const attrI = (n: Node, k: string, d = 0): number => (n.attrs[k] ? Number(n.attrs[k].v) : d);
const attrF = (n: Node, k: string, d: number): number => (n.attrs[k] ? Number(n.attrs[k].v) : d);

const RULES: Record<string, Rule> = {
  Identity: (_n, [g]) => [g],
  StopGradient: () => [null],
  // The value's own computation gets no gradient; the custom rule gives the inputs theirs.
  CustomGrad: (n, [g]) => [null, ...n.outputs[0].graph.customRules.get(n.id)!(g!)],
  Add: (n, [g]) => [unbroadcast(g!, n.inputs[0]!.shape), unbroadcast(g!, n.inputs[1]!.shape)],
  Sub: (n, [g]) => [unbroadcast(g!, n.inputs[0]!.shape), unbroadcast(g!.neg(), n.inputs[1]!.shape)],
  Mul: (n, [g]) => {
    const [a, b] = n.inputs as Tensor[];
    return [unbroadcast(g!.mul(b), a.shape), unbroadcast(g!.mul(a), b.shape)];
  },
  Div: (n, [g]) => {
    const [a, b] = n.inputs as Tensor[];
    const y = n.outputs[0];
    return [unbroadcast(g!.div(b), a.shape), unbroadcast(g!.mul(y).div(b).neg(), b.shape)];
  },
  Pow: (n, [g]) => {
    const [x, p] = n.inputs as Tensor[];
    const e = constValues(p);
    if (e.length !== 1) throw new Error('Pow: only a constant scalar exponent is differentiable');
    return [g!.mul(x.pow(e[0] - 1)).mul(e[0]), null];
  },
  Neg: (_n, [g]) => [g!.neg()],
  Reciprocal: (n, [g]) => [g!.mul(n.outputs[0].square()).neg()],
  Sqrt: (n, [g]) => [g!.mul(0.5).div(n.outputs[0])],
  Exp: (n, [g]) => [g!.mul(n.outputs[0])],
  Log: (n, [g]) => [g!.div(n.inputs[0]!)],
  Abs: (n, [g]) => [g!.mul(n.inputs[0]!.sign())],
  Sign: () => [null],
  Tanh: (n, [g]) => {
    const y = n.outputs[0];
    return [g!.mul(y.square().neg().add(1))];
  },
  Sigmoid: (n, [g]) => {
    const y = n.outputs[0];
    return [g!.mul(y).mul(y.neg().add(1))];
  },
  Softplus: (n, [g]) => [g!.mul(n.inputs[0]!.sigmoid())],
  Relu: (n, [g]) => [Tensor.where(n.inputs[0]!.greater(0), g!, 0)],
  Erf: (n, [g]) => {
    const x = n.inputs[0]!;
    return [g!.mul(x.square().neg().exp()).mul(2 / Math.sqrt(Math.PI))];
  },
  Clip: (n, [g]) => {
    // PyTorch clamp: the gradient passes where min ≤ x ≤ max.
    const [x, lo, hi] = n.inputs as Tensor[];
    const inside = x.greaterOrEqual(lo).and(x.lessOrEqual(hi));
    return [Tensor.where(inside, g!, 0), null, null];
  },
  Cast: (n, [g]) => {
    const x = n.inputs[0]!;
    return [isFloat(x.dtype) ? g!.cast(x.dtype) : null];
  },
  MatMul: (n, [g]) => matmulGrads(n.inputs[0]!, n.inputs[1]!, g!),
  FusedMatMul: (n, [g]) => matmulGrads(n.inputs[0]!, n.inputs[1]!, g!, {
    transA: attrI(n, 'transA') === 1, transB: attrI(n, 'transB') === 1, alpha: Math.fround(attrF(n, 'alpha', 1)),
  }),
  Gemm: (n, [g]) => {
    const [a, b, c] = n.inputs as (Tensor | undefined)[];
    const tA = attrI(n, 'transA'), tB = attrI(n, 'transB');
    // ONNX stores alpha/beta as float32: use the rounded values the forward pass used.
    const alpha = Math.fround(attrF(n, 'alpha', 1)), beta = Math.fround(attrF(n, 'beta', 1));
    // alpha rides on the backward GEMMs; scaling G would cost a pass over it.
    const [ga, gb] = productGrads(a!, b!, g!, { transA: !!tA, transB: !!tB, alpha }, gemmProduct);
    // beta scales the bias's (usually reduced) gradient after the reduction.
    const gcSum = c ? unbroadcast(g!, c.shape) : null;
    const gc = gcSum && beta !== 1 ? gcSum.mul(beta) : gcSum;
    return c ? [ga, gb, gc] : [ga, gb];
  },
  Transpose: (n, [g]) => {
    const perm = n.attrs.perm.v as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [g!.transpose(inv)];
  },
  Reshape: (n, [g]) => [g!.reshape(n.inputs[0]!.shape.slice()), null],
  Unsqueeze: (n, [g]) => [g!.reshape(n.inputs[0]!.shape.slice()), null],
  Squeeze: (n, [g]) => [g!.reshape(n.inputs[0]!.shape.slice()), null],
  Expand: (n, [g]) => [unbroadcast(g!, n.inputs[0]!.shape), null],
  Concat: (n, [g]) => {
    const axis = attrI(n, 'axis');
    return g!.split(n.inputs.map((x) => x!.shape[axis]), axis);
  },
  Split: (n, gs) => {
    const axis = attrI(n, 'axis');
    const parts = gs.map((g, i) => g ?? n.outputs[i].graph.zeros(n.outputs[i].shape, n.outputs[i].dtype));
    return [Tensor.concat(parts, axis), null];
  },
  Slice: (n, [g]) => {
    const x = n.inputs[0]!;
    const [starts, ends, axes] = n.inputs.slice(1).map((t) => constValues(t!));
    const pads = new Array(2 * x.rank).fill(0);
    axes.forEach((a, i) => {
      pads[a] = starts[i];
      pads[a + x.rank] = x.shape[a] - ends[i];
    });
    return [g!.pad(pads), null, null, null];
  },
  Pad: (n, [g]) => {
    const x = n.inputs[0]!;
    const pads = constValues(n.inputs[1]!);
    return [g!.slice(x.shape.map((_, i) => pads[i]), x.shape.map((d, i) => pads[i] + d)), null, null];
  },
  Gather: (n, [g]) => {
    const [data, idx] = n.inputs as Tensor[];
    if (attrI(n, 'axis') !== 0) throw new Error('Gather: only axis 0 is differentiable');
    // Embedding backward: scatter-add the rows of the gradient into a zero table (repeated ids accumulate).
    const rows = data.shape.slice(1);
    const flatIdx = idx.reshape([idx.size, 1]);
    const upd = g!.reshape([idx.size, ...rows]);
    const zero = data.graph.zeros(data.shape, data.dtype);
    const gd = data.graph.op1('ScatterND', [zero, flatIdx, upd], { reduction: { kind: 'string', v: 'add' } }, data.shape, data.dtype);
    return [gd, null];
  },
  GatherElements: (n, [g]) => {
    const [data, idx] = n.inputs as Tensor[];
    const zero = data.graph.zeros(data.shape, data.dtype);
    const gd = data.graph.op1('ScatterElements', [zero, idx, g!], { axis: n.attrs.axis, reduction: { kind: 'string', v: 'add' } }, data.shape, data.dtype);
    return [gd, null];
  },
  Where: (n, [g]) => {
    const [c, a, b] = n.inputs as Tensor[];
    return [null, unbroadcast(Tensor.where(c, g!, 0), a.shape), unbroadcast(Tensor.where(c, 0, g!), b.shape)];
  },
  ReduceSum: (n, [g]) => [expandReduced(g!, n.inputs[0]!, n), null],
  ReduceMean: (n, [g]) => {
    const x = n.inputs[0]!;
    const count = reduceAxes(n, x).reduce((s, a) => s * x.shape[a], 1);
    return [expandReduced(g!.mul(1 / count), x, n), null];
  },
  ReduceMax: (n, [g]) => {
    // Ties share the gradient equally (PyTorch's amax convention).
    const x = n.inputs[0]!;
    const axes = reduceAxes(n, x);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const y = n.outputs[0].reshape(kept);
    const mask = x.equal(y).cast(x.dtype);
    const share = mask.div(mask.sum(axes, true));
    return [share.mul(g!.reshape(kept)), null];
  },
  Softmax: (n, [g]) => {
    const axis = attrI(n, 'axis', -1);
    const y = n.outputs[0];
    const gy = g!.mul(y);
    return [gy.sub(y.mul(gy.sum(axis, true)))];
  },
  LogSoftmax: (n, [g]) => {
    const axis = attrI(n, 'axis', -1);
    const y = n.outputs[0];
    return [g!.sub(y.exp().mul(g!.sum(axis, true)))];
  },
  LayerNormalization: (n, [g]) => {
    const [x, scale, bias] = n.inputs as (Tensor | undefined)[];
    const last = x!.rank - 1;
    // The kernel's saved statistics are float32; float64 graphs recompute them at full precision.
    let [, mean, invStd] = n.outputs;
    if (x!.dtype !== 'float32') {
      const eps = Math.fround(attrF(n, 'epsilon', 1e-5));
      mean = x!.mean(last, true);
      invStd = x!.sub(mean).square().mean(last, true).add(eps).sqrt().reciprocal();
    }
    const xhat = x!.sub(mean).mul(invStd);
    const gScale = sumLeading(g!.mul(xhat), last);
    const gBias = bias ? sumLeading(g!, last) : null;
    const dxhat = g!.mul(scale!);
    const dx = dxhat.sub(dxhat.mean(last, true)).sub(xhat.mul(dxhat.mul(xhat).mean(last, true))).mul(invStd);
    return bias ? [dx, gScale, gBias] : [dx, gScale];
  },
};

/**
 * Gradients of a scalar `loss` (or of sum(loss · seed) for a given seed) with respect to `wrt`.
 * Returns one tensor per entry of `wrt` (zeros where the loss does not depend on it).
 */
export function grad(loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const g = loss.graph;
  if (!seed && loss.size !== 1) throw new Error(`grad: loss must be a scalar, got [${loss.shape}]`);
  // Forward sweep: which tensors depend on a differentiated input.
  const depends = new Set<Tensor>(wrt);
  for (const node of g.nodes) {
    if (node.op === 'StopGradient') continue;
    if (node.inputs.some((x) => x && depends.has(x))) for (const o of node.outputs) depends.add(o);
  }
  if (!depends.has(loss)) return wrt.map((w) => g.zeros(w.shape, w.dtype));

  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, seed ?? g.scalar(1, loss.dtype).expand(loss.shape.slice()));
  const lastNode = loss.producer ? loss.producer.id : -1;
  for (let id = lastNode; id >= 0; id--) {
    const node = g.nodes[id];
    const gOut = node.outputs.map((o) => grads.get(o) ?? null);
    if (gOut.every((x) => x === null)) continue;
    if (!node.inputs.some((x) => x && depends.has(x))) continue;
    const rule = RULES[node.op];
    if (!rule) throw new Error(`no gradient rule for ${node.op}`);
    const gIn = rule(node, gOut);
    node.inputs.forEach((x, i) => {
      const gi = gIn[i];
      if (!x || !gi || !depends.has(x)) return;
      if (!sameShape(gi.shape, x.shape)) throw new Error(`rule ${node.op}: gradient shape [${gi.shape}] for input [${x.shape}]`);
      const prev = grads.get(x);
      grads.set(x, prev ? prev.add(gi) : gi);
    });
  }
  return wrt.map((w) => grads.get(w) ?? g.zeros(w.shape, w.dtype));
}
