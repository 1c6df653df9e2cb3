/**
 * The tensor-expression builder. A Graph records ONNX nodes; a Tensor is a symbolic value with a static
 * shape and dtype. Shapes are fully static: a graph is built per batch shape and its session reused, which
 * lets every Reshape/Expand/broadcast-gradient be resolved at build time.
 */
import { type DType, type TypedArray, typedArrayFrom } from './dtype.ts';

/** The label of a position that carries no loss (PyTorch's ignore_index, kept for familiarity). */
export const IGNORE_LABEL = -100;

export type Shape = readonly number[];

/** An ONNX attribute value, tagged so that 1 (int) and 1.0 (float) stay distinct. */
export type Attr =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'ints'; v: readonly number[] }
  | { kind: 'floats'; v: readonly number[] }
  | { kind: 'string'; v: string };

export const attrInt = (v: number): Attr => ({ kind: 'int', v });
export const attrFloat = (v: number): Attr => ({ kind: 'float', v });
export const attrInts = (v: readonly number[]): Attr => ({ kind: 'ints', v });
export const attrString = (v: string): Attr => ({ kind: 'string', v });

export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly (Tensor | null)[];
  readonly attrs: Readonly<Record<string, Attr>>;
  outputs: Tensor[];
  /** Label for profiling (e.g. 'optim'); becomes the ONNX node-name prefix. */
  readonly scope: string;
}

export type TensorLike = Tensor | number;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of two static shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly producer: Node | null,
  ) {}

  get rank(): number { return this.shape.length; }
  get size(): number { return sizeOf(this.shape); }
  toString(): string { return `${this.name}:${this.dtype}[${this.shape}]`; }

  private lift(x: TensorLike): Tensor {
    return typeof x === 'number' ? this.graph.scalar(x, this.dtype) : x;
  }
  private binary(op: string, other: TensorLike, outDtype?: DType): Tensor {
    const o = this.lift(other);
    if (o.dtype !== this.dtype) throw new Error(`${op}: dtype mismatch ${this.dtype} vs ${o.dtype}`);
    return this.graph.op1(op, [this, o], {}, broadcastShapes(this.shape, o.shape), outDtype ?? this.dtype);
  }
  private unary(op: string, attrs: Record<string, Attr> = {}): Tensor {
    return this.graph.op1(op, [this], attrs, this.shape, this.dtype);
  }

  // ---- elementwise arithmetic ----
  add(o: TensorLike): Tensor { return this.binary('Add', o); }
  sub(o: TensorLike): Tensor { return this.binary('Sub', o); }
  mul(o: TensorLike): Tensor { return this.binary('Mul', o); }
  div(o: TensorLike): Tensor { return this.binary('Div', o); }
  /** x ** p for a constant exponent p. */
  pow(p: number): Tensor { return this.binary('Pow', p); }
  neg(): Tensor { return this.unary('Neg'); }
  sqrt(): Tensor { return this.unary('Sqrt'); }
  exp(): Tensor { return this.unary('Exp'); }
  log(): Tensor { return this.unary('Log'); }
  abs(): Tensor { return this.unary('Abs'); }
  sign(): Tensor { return this.unary('Sign'); }
  tanh(): Tensor { return this.unary('Tanh'); }
  sigmoid(): Tensor { return this.unary('Sigmoid'); }
  relu(): Tensor { return this.unary('Relu'); }
  softplus(): Tensor { return this.unary('Softplus'); }
  square(): Tensor { return this.mul(this); }
  reciprocal(): Tensor { return this.unary('Reciprocal'); }
  /** erf; float64 has no ORT kernel, so it is decomposed there (see erf64). */
  erf(): Tensor { return this.dtype === 'float64' ? erf64(this) : this.unary('Erf'); }
  /** GELU, exact (erf) form by default; the tanh approximation with approximate=true (PyTorch semantics). */
  gelu(approximate = false): Tensor {
    if (approximate) {
      const inner = this.add(this.mul(this).mul(this).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
      return this.mul(0.5).mul(inner.tanh().add(1));
    }
    // y = x·Φ(x) with a hand rule dy/dx = Φ(x) + x·φ(x) that reuses Φ: 7 elementwise passes backward
    // instead of the 11 that differentiating the decomposition costs.
    const cdf = this.mul(Math.SQRT1_2).erf().mul(0.5).add(0.5);
    return this.graph.customGrad(this.mul(cdf), [this, cdf], (g) => {
      const pdf = this.square().mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
      return [g.mul(cdf.add(this.mul(pdf))), null];
    });
  }
  /**
   * u·(1 + erf(u)), which is √2·GELU(√2·u): exact GELU with its two 1/√2 factors moved into the linear
   * layers around it (transformer.ts mlp()). That leaves 3 elementwise passes forward and 6 backward,
   * against GELU's 5 and 7. The derivative is 1 + erf(u) + (2/√π)·u·exp(−u²); exp(ln(2/√π) − u²) folds
   * the constant into the exponent.
   */
  erfGate(): Tensor {
    const onePlusErf = this.erf().add(1);
    return this.graph.customGrad(this.mul(onePlusErf), [this, onePlusErf], (g) => {
      const bump = this.graph.scalar(Math.log(2 / Math.sqrt(Math.PI)), this.dtype).sub(this.square()).exp();
      return [g.mul(onePlusErf.add(this.mul(bump))), null];
    });
  }
  /** log σ(x), computed stably as −softplus(−x). */
  logSigmoid(): Tensor { return this.neg().softplus().neg(); }
  clip(min: number, max: number): Tensor {
    return this.graph.op1('Clip', [this, this.graph.scalar(min, this.dtype), this.graph.scalar(max, this.dtype)], {}, this.shape, this.dtype);
  }
  cast(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    return this.graph.op1('Cast', [this], { to: attrInt(ONNX_CAST[dtype]) }, this.shape, dtype);
  }
  /** Identity in the forward pass, zero gradient in the backward pass. */
  detach(): Tensor { return this.graph.op1('StopGradient', [this], {}, this.shape, this.dtype); }

  // ---- comparisons (no gradient) ----
  equal(o: TensorLike): Tensor { return this.binary('Equal', o, 'bool'); }
  less(o: TensorLike): Tensor { return this.binary('Less', o, 'bool'); }
  greater(o: TensorLike): Tensor { return this.binary('Greater', o, 'bool'); }
  greaterOrEqual(o: TensorLike): Tensor { return this.binary('GreaterOrEqual', o, 'bool'); }
  lessOrEqual(o: TensorLike): Tensor { return this.binary('LessOrEqual', o, 'bool'); }
  and(o: Tensor): Tensor { return this.binary('And', o, 'bool'); }
  not(): Tensor { return this.unary('Not'); }
  /** Elementwise select: cond ? a : b, with broadcasting. */
  static where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
    const g = cond.graph;
    const dt = typeof a === 'number' ? (typeof b === 'number' ? 'float32' : b.dtype) : a.dtype;
    const ta = typeof a === 'number' ? g.scalar(a, dt) : a;
    const tb = typeof b === 'number' ? g.scalar(b, dt) : b;
    const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape), tb.shape);
    return g.op1('Where', [cond, ta, tb], {}, shape, dt);
  }
  where(a: TensorLike, b: TensorLike): Tensor { return Tensor.where(this, a, b); }

  // ---- linear algebra ----
  /**
   * Batched, broadcasting matrix product over the last two axes (both operands rank ≥ 2):
   * alpha·op(A)·op(B), where op transposes the last two axes when transA / transB is set. With any of
   * those options a float32 graph records onnxruntime's FusedMatMul (com.microsoft), which reads the
   * operands transposed in place: attention's q·kᵀ and every matmul gradient then need no Transpose
   * node (each one a pass over [B, H, T, dh]). Portable graphs (export) and float64 spell it out.
   */
  matmul(o: Tensor, opts: MatMulOptions = {}): Tensor {
    if (this.rank < 2 || o.rank < 2) throw new Error('matmul needs rank ≥ 2 operands');
    const { transA = false, transB = false, alpha = 1 } = opts;
    const [m, k] = transA ? this.shape.slice(-2).reverse() : this.shape.slice(-2);
    const [k2, n] = transB ? o.shape.slice(-2).reverse() : o.shape.slice(-2);
    if (k !== k2) throw new Error(`matmul: inner dims ${k} vs ${k2} ([${this.shape}] @ [${o.shape}]${transA ? ', A transposed' : ''}${transB ? ', B transposed' : ''})`);
    const batch = broadcastShapes(this.shape.slice(0, -2), o.shape.slice(0, -2));
    if (!transA && !transB && alpha === 1) return this.graph.op1('MatMul', [this, o], {}, [...batch, m, n], this.dtype);
    if (this.dtype !== 'float32' || this.graph.portable) {
      const y = (transA ? this.swap(-1, -2) : this).matmul(transB ? o.swap(-1, -2) : o);
      return alpha === 1 ? y : y.mul(alpha);
    }
    const attrs = { transA: attrInt(transA ? 1 : 0), transB: attrInt(transB ? 1 : 0), alpha: attrFloat(alpha) };
    return this.graph.op1('FusedMatMul', [this, o], attrs, [...batch, m, n], this.dtype);
  }
  /** ONNX Gemm on 2-D operands: alpha·op(A)·op(B) + beta·C. */
  gemm(b: Tensor, c: Tensor | null = null, opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Tensor {
    if (this.rank !== 2 || b.rank !== 2) throw new Error('gemm needs 2-D operands');
    const [m, k] = opts.transA ? [this.shape[1], this.shape[0]] : this.shape;
    const [k2, n] = opts.transB ? [b.shape[1], b.shape[0]] : b.shape;
    if (k !== k2) throw new Error(`gemm: inner dims ${k} vs ${k2}`);
    const attrs: Record<string, Attr> = {
      transA: attrInt(opts.transA ? 1 : 0), transB: attrInt(opts.transB ? 1 : 0),
      alpha: attrFloat(opts.alpha ?? 1), beta: attrFloat(opts.beta ?? 1),
    };
    return this.graph.op1('Gemm', c ? [this, b, c] : [this, b], attrs, [m, n], this.dtype);
  }
  /** alpha·x·W + beta·b over the last axis (alpha = beta = 1 by default), for x of any rank ≥ 1 and W of shape [in, out]. */
  linear(w: Tensor, b?: Tensor | null, scale: { alpha?: number; beta?: number } = {}): Tensor {
    const lead = this.shape.slice(0, -1);
    const x2 = this.rank === 2 ? this : this.reshape([sizeOf(lead), this.shape[this.rank - 1]]);
    const y = x2.gemm(w, b ?? null, scale);
    return this.rank === 2 ? y : y.reshape([...lead, w.shape[1]]);
  }

  // ---- shape manipulation ----
  reshape(shape: readonly number[]): Tensor {
    let s = shape.slice();
    const infer = s.indexOf(-1);
    if (infer >= 0) s[infer] = this.size / sizeOf(s.filter((_, i) => i !== infer));
    if (sizeOf(s) !== this.size) throw new Error(`reshape [${this.shape}] → [${shape}]: sizes differ`);
    if (sameShape(s, this.shape)) return this;
    // A reshape of a reshape (or squeeze/unsqueeze) reshapes the original: one node, not a chain
    // (linear() flattens to 2-D and back, and its gradient does the same).
    const p = this.producer;
    if (p && (p.op === 'Reshape' || p.op === 'Squeeze' || p.op === 'Unsqueeze')) return p.inputs[0]!.reshape(s);
    return this.graph.op1('Reshape', [this, this.graph.constInt64(s)], {}, s, this.dtype);
  }
  transpose(perm?: readonly number[]): Tensor {
    const p = perm ?? this.shape.map((_, i) => this.rank - 1 - i);
    return this.graph.op1('Transpose', [this], { perm: attrInts(p) }, p.map((i) => this.shape[i]), this.dtype);
  }
  /** Swap two axes. */
  swap(a: number, b: number): Tensor {
    const p = this.shape.map((_, i) => i);
    const [x, y] = [normAxis(a, this.rank), normAxis(b, this.rank)];
    [p[x], p[y]] = [p[y], p[x]];
    return this.transpose(p);
  }
  unsqueeze(axes: number | readonly number[]): Tensor {
    const ax = (typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, this.rank + (typeof axes === 'number' ? 1 : axes.length)));
    const out: number[] = [];
    const r = this.rank + ax.length;
    for (let i = 0, j = 0; i < r; i++) out.push(ax.includes(i) ? 1 : this.shape[j++]);
    return this.graph.op1('Unsqueeze', [this, this.graph.constInt64(ax)], {}, out, this.dtype);
  }
  squeeze(axes: number | readonly number[]): Tensor {
    const ax = (typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, this.rank));
    for (const a of ax) if (this.shape[a] !== 1) throw new Error(`squeeze axis ${a} has size ${this.shape[a]}`);
    return this.graph.op1('Squeeze', [this, this.graph.constInt64(ax)], {}, this.shape.filter((_, i) => !ax.includes(i)), this.dtype);
  }
  expand(shape: readonly number[]): Tensor {
    const out = broadcastShapes(this.shape, shape);
    if (sameShape(out, this.shape)) return this;
    return this.graph.op1('Expand', [this, this.graph.constInt64(shape)], {}, out, this.dtype);
  }
  static concat(xs: readonly Tensor[], axis: number): Tensor {
    const g = xs[0].graph;
    const a = normAxis(axis, xs[0].rank);
    const shape = xs[0].shape.slice();
    shape[a] = xs.reduce((s, x) => s + x.shape[a], 0);
    return g.op1('Concat', xs, { axis: attrInt(a) }, shape, xs[0].dtype);
  }
  /** Static slice with step 1: [start, end) along each listed axis. */
  slice(starts: readonly number[], ends: readonly number[], axes?: readonly number[]): Tensor {
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, this.rank));
    const shape = this.shape.slice();
    const st: number[] = [];
    const en: number[] = [];
    ax.forEach((a, i) => {
      const d = this.shape[a];
      const s = Math.min(Math.max(starts[i] < 0 ? starts[i] + d : starts[i], 0), d);
      const e = Math.min(Math.max(ends[i] < 0 ? ends[i] + d : ends[i], s), d);
      st.push(s); en.push(e); shape[a] = e - s;
    });
    const g = this.graph;
    return g.op1('Slice', [this, g.constInt64(st), g.constInt64(en), g.constInt64(ax)], {}, shape, this.dtype);
  }
  split(sizes: readonly number[], axis: number): Tensor[] {
    const a = normAxis(axis, this.rank);
    if (sizes.reduce((s, x) => s + x, 0) !== this.shape[a]) throw new Error(`split sizes ${sizes} do not sum to ${this.shape[a]}`);
    const shapes = sizes.map((n) => this.shape.map((d, i) => (i === a ? n : d)));
    return this.graph.op('Split', [this, this.graph.constInt64(sizes)], { axis: attrInt(a) }, shapes, sizes.map(() => this.dtype));
  }
  /** Take indices along an axis (embedding lookup with axis 0). */
  gather(indices: Tensor, axis = 0): Tensor {
    const a = normAxis(axis, this.rank);
    const shape = [...this.shape.slice(0, a), ...indices.shape, ...this.shape.slice(a + 1)];
    return this.graph.op1('Gather', [this, indices], { axis: attrInt(a) }, shape, this.dtype);
  }
  /** ONNX GatherElements: out has the indices' shape. */
  gatherElements(indices: Tensor, axis: number): Tensor {
    const a = normAxis(axis, this.rank);
    return this.graph.op1('GatherElements', [this, indices], { axis: attrInt(a) }, indices.shape, this.dtype);
  }
  pad(pads: readonly number[], value = 0): Tensor {
    const r = this.rank;
    const shape = this.shape.map((d, i) => d + pads[i] + pads[i + r]);
    const g = this.graph;
    return g.op1('Pad', [this, g.constInt64(pads), g.scalar(value, this.dtype)], { mode: attrString('constant') }, shape, this.dtype);
  }

  // ---- reductions ----
  private reduce(op: string, axes: number | readonly number[] | undefined, keepdims: boolean): Tensor {
    const ax = axes === undefined ? this.shape.map((_, i) => i) : (typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, this.rank));
    // Reducing over no axes is the identity (NumPy); ONNX would instead reduce over all axes.
    if (ax.length === 0) return this;
    const shape = keepdims ? this.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : this.shape.filter((_, i) => !ax.includes(i));
    return this.graph.op1(op, [this, this.graph.constInt64(ax)], { keepdims: attrInt(keepdims ? 1 : 0) }, shape, this.dtype);
  }
  sum(axes?: number | readonly number[], keepdims = false): Tensor { return this.reduce('ReduceSum', axes, keepdims); }
  mean(axes?: number | readonly number[], keepdims = false): Tensor { return this.reduce('ReduceMean', axes, keepdims); }
  max(axes?: number | readonly number[], keepdims = false): Tensor { return this.reduce('ReduceMax', axes, keepdims); }
  argmax(axis: number, keepdims = false): Tensor {
    const a = normAxis(axis, this.rank);
    const shape = keepdims ? this.shape.map((d, i) => (i === a ? 1 : d)) : this.shape.filter((_, i) => i !== a);
    return this.graph.op1('ArgMax', [this], { axis: attrInt(a), keepdims: attrInt(keepdims ? 1 : 0) }, shape, 'int64');
  }
  /**
   * Per-row log softmax(x)[label] for logits [N, C] and int64 labels [N]; exactly +0 where label =
   * ignoreIndex. (Minus ONNX SoftmaxCrossEntropyLoss with reduction none, which onnxruntime's CPU build
   * expands into a LogSoftmax over axis 1 of [N, C, 1] that it runs transposed, 5× slower than over the
   * last axis of [N, C].) The backward is the fused (onehot − softmax)·g: a few passes over [N, C]
   * instead of differentiating log-softmax → gather.
   */
  labelLogProbs(labels: Tensor, ignoreIndex = IGNORE_LABEL): Tensor {
    if (this.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== this.shape[0]) {
      throw new Error(`labelLogProbs: expected logits [N, C] and labels [N], got [${this.shape}] and [${labels.shape}]`);
    }
    const valid = labels.equal(ignoreIndex).not();
    const safe = Tensor.where(valid, labels, 0).unsqueeze(1);
    const logProb = this.logSoftmax(-1);
    const picked = Tensor.where(valid, logProb.gatherElements(safe, 1).reshape([this.shape[0]]), 0);
    return this.graph.customGrad(picked, [this], (g) => {
      // Ignored rows get exactly +0 (the negation comes before the Where, so no −0 reaches them).
      const minusG = Tensor.where(valid, g.neg(), 0).unsqueeze(1);
      const soft = logProb.exp().mul(minusG);
      const attrs = { axis: attrInt(1), reduction: attrString('add') };
      return [this.graph.op1('ScatterElements', [soft, safe, minusG.neg()], attrs, this.shape, this.dtype)];
    });
  }
  softmax(axis = -1): Tensor { return this.unary('Softmax', { axis: attrInt(normAxis(axis, this.rank)) }); }
  logSoftmax(axis = -1): Tensor { return this.unary('LogSoftmax', { axis: attrInt(normAxis(axis, this.rank)) }); }

  // ---- normalisation ----
  /** LayerNormalization over the last axis (ONNX opset 17). */
  layerNorm(scale: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
    const statShape = this.shape.map((d, i) => (i === this.rank - 1 ? 1 : d));
    const ins = bias ? [this, scale, bias] : [this, scale];
    // ORT's kernel keeps Mean/InvStdDev in float32 (stash_type 1) for every input type.
    const [y] = this.graph.op('LayerNormalization', ins, { axis: attrInt(-1), epsilon: attrFloat(eps) },
      [this.shape, statShape, statShape], [this.dtype, 'float32', 'float32']);
    return y;
  }
  /** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · scale. */
  rmsNorm(scale: Tensor, eps = 1e-6): Tensor {
    return this.mul(this.square().mean(-1, true).add(eps).sqrt().reciprocal()).mul(scale);
  }
}

const ONNX_CAST: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 };

/**
 * erf for float64 built from elementwise ops (ORT has no float64 Erf kernel): the Maclaurin series
 * erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n!(2n+1)), summed to 60 terms on x clamped to [−5, 5]. The
 * alternating terms cancel: the largest is 190 at |x| = 3, 1.1e5 at 4 and 5.8e8 at 5, so the float64
 * error is ~2e-14 for |x| ≤ 3, ~1e-11 at 4 and ~1e-7 at 5. Used for float64 gradient checks: keep
 * their inputs within |x| ≲ 3.
 */
function erf64(x: Tensor): Tensor {
  const xc = x.clip(-5, 5);
  const x2 = xc.mul(xc);
  let term = xc; // x^(2n+1) (−1)^n / n!
  let acc = xc;
  for (let n = 1; n < 60; n++) {
    term = term.mul(x2).mul(-1 / n);
    acc = acc.add(term.mul(1 / (2 * n + 1)));
  }
  return acc.mul(2 / Math.sqrt(Math.PI));
}

/**
 * Cut images [B, C, H, W] into non-overlapping p×p patches: [B, (H/p)·(W/p), C·p·p]. Patches run
 * row-major over the grid; each is flattened channel-major (c, dy, dx), the order of a Conv2d weight
 * [D, C, p, p] reshaped to [D, C·p·p], so patchify → linear is a stride-p, kernel-p convolution.
 */
export function patchify(images: Tensor, patch: number): Tensor {
  if (images.rank !== 4) throw new Error(`patchify: expected images [B, C, H, W], got [${images.shape}]`);
  const [b, c, h, w] = images.shape;
  if (!Number.isInteger(patch) || patch < 1 || h % patch !== 0 || w % patch !== 0) {
    throw new Error(`patchify: ${h}×${w} images do not divide into ${patch}×${patch} patches`);
  }
  const gh = h / patch, gw = w / patch;
  // [B, C, gy, dy, gx, dx] → [B, gy, gx, C, dy, dx]
  return images.reshape([b, c, gh, patch, gw, patch]).transpose([0, 2, 4, 1, 3, 5]).reshape([b, gh * gw, c * patch * patch]);
}

export interface GraphInput {
  tensor: Tensor;
  /** Parameters may be differentiated; plain inputs are data. */
  isParam: boolean;
}

export interface Initializer {
  name: string;
  dtype: DType;
  shape: Shape;
  data: TypedArray;
}

export interface MatMulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
}

export interface GraphOptions {
  /** Standard ONNX only (no com.microsoft ops), for files other runtimes must read (export). */
  portable?: boolean;
}

export class Graph {
  readonly portable: boolean;
  constructor(opts: GraphOptions = {}) {
    this.portable = opts.portable ?? false;
  }
  readonly nodes: Node[] = [];
  readonly inputs: GraphInput[] = [];
  readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  private readonly scalarCache = new Map<string, Tensor>();
  private counter = 0;
  /** Scope recorded on new nodes; see inScope. */
  scope = '';

  /** Record the nodes built by fn under a scope label (profiling attributes time to it). */
  inScope<T>(scope: string, fn: () => T): T {
    const prev = this.scope;
    this.scope = scope;
    try {
      return fn();
    } finally {
      this.scope = prev;
    }
  }

  private fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.names.has(n));
    this.names.add(n);
    return n;
  }
  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.names.add(name);
    return name;
  }

  /** A graph input fed at run time (data). */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    const t = new Tensor(this, this.claim(name), shape.slice(), dtype, null);
    this.inputs.push({ tensor: t, isParam: false });
    return t;
  }
  /** A parameter: a graph input owned by the caller that gradients can be taken with respect to. */
  param(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    const t = new Tensor(this, this.claim(name), shape.slice(), dtype, null);
    this.inputs.push({ tensor: t, isParam: true });
    return t;
  }
  params(): Tensor[] {
    return this.inputs.filter((i) => i.isParam).map((i) => i.tensor);
  }
  /** A constant stored in the model as an initializer. */
  constant(data: TypedArray | readonly number[], shape: Shape, dtype: DType = 'float32', name?: string): Tensor {
    const arr = ArrayBuffer.isView(data) ? (data as TypedArray) : typedArrayFrom(dtype, data as number[]);
    if (arr.length !== sizeOf(shape)) throw new Error(`constant: ${arr.length} values for shape [${shape}]`);
    const t = new Tensor(this, name ? this.claim(name) : this.fresh('const'), shape.slice(), dtype, null);
    this.initializers.push({ name: t.name, dtype, shape: shape.slice(), data: arr });
    return t;
  }
  /** A rank-0 constant, shared between uses. */
  scalar(v: number, dtype: DType = 'float32'): Tensor {
    const key = `${dtype}:${Object.is(v, -0) ? '-0' : v}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant(typedArrayFrom(dtype, [v]), [], dtype);
      this.scalarCache.set(key, t);
    }
    return t;
  }
  constInt64(values: readonly number[]): Tensor {
    const key = `i64v:${values.join(',')}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant(typedArrayFrom('int64', values), [values.length], 'int64');
      this.scalarCache.set(key, t);
    }
    return t;
  }
  zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    return this.scalar(0, dtype).expand(shape.slice());
  }

  /**
   * `value` in the forward pass, but its gradient with respect to `inputs` comes from `rule` (given the
   * output gradient) instead of from differentiating how `value` was computed — for composites with a
   * cheaper closed-form derivative. Serialises as an Identity of `value`.
   */
  customGrad(value: Tensor, inputs: readonly Tensor[], rule: (g: Tensor) => (Tensor | null)[]): Tensor {
    const out = this.op1('CustomGrad', [value, ...inputs], {}, value.shape, value.dtype);
    this.customRules.set(out.producer!.id, rule);
    return out;
  }
  /** Rules of CustomGrad nodes, by node id. */
  readonly customRules = new Map<number, (g: Tensor) => (Tensor | null)[]>();

  /** Record a node with several outputs. */
  op(op: string, inputs: readonly (Tensor | null)[], attrs: Record<string, Attr>, shapes: readonly Shape[], dtypes: readonly DType[]): Tensor[] {
    for (const x of inputs) if (x && x.graph !== this) throw new Error(`${op}: input from another graph`);
    const node: Node = { id: this.nodes.length, op, inputs, attrs, outputs: [], scope: this.scope };
    node.outputs = shapes.map((s, i) => new Tensor(this, this.fresh(op.toLowerCase()), s.slice(), dtypes[i], node));
    this.nodes.push(node);
    return node.outputs;
  }
  op1(op: string, inputs: readonly (Tensor | null)[], attrs: Record<string, Attr>, shape: Shape, dtype: DType): Tensor {
    return this.op(op, inputs, attrs, [shape], [dtype])[0];
  }
}
