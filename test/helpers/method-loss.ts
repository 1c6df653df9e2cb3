/**
 * Evaluates a method's loss on a tiny fixed batch without a model: every stream's logits (and hidden
 * states) are float64 leaves with fixed random values, the reference model's are constants, and labels
 * have ignored positions. Tests compare the value with the formula computed in plain TypeScript on the
 * same numbers (`data`), and check the gradient with float64 finite differences (`gradCheck`).
 */
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import { CompiledGraph } from '../../src/engine/session.ts';
import { gradCheck, type GradCheckResult } from '../../src/engine/gradcheck.ts';
import { answerMask } from '../../src/engine/losses.ts';
import { type LossContext, type LossResult, type AnyMethod, type ModelOutputs, type StreamName, type StreamView, validateHyperparameters } from '../../src/methods/api.ts';
import { Rng } from '../../src/util/rng.ts';

export const B = 2, S = 4, V = 5, D = 3, LAYERS = 4;
/** What ctx.hiddenNorm(l) returns for every layer a method declares in measureHiddenNorm. */
export const HIDDEN_NORM = 1.7;

export interface StreamData {
  logits: Float64Array; // [B, S, V]
  refLogits: Float64Array;
  labels: number[]; // [B, S], −100 = ignored
  hidden: Record<number, Float64Array>; // [B, S, D]
  refHidden: Record<number, Float64Array>;
}

export interface LossCase {
  data: Partial<Record<StreamName, StreamData>>;
  h: Record<string, unknown>;
  value(): Promise<number>;
  gradCheck(): Promise<GradCheckResult>;
}

/** Fixed inputs for every stream the method reads (labels: two scored tokens per row at least). */
export function lossCase(m: AnyMethod, hyper: Record<string, unknown> = {}, opts: { phase?: string; seed?: number } = {}): LossCase {
  const h = validateHyperparameters(m, hyper);
  const rng = new Rng(opts.seed ?? 42);
  const layers = m.hiddenLayers ? m.hiddenLayers(h as never, { layers: LAYERS, dModel: D, vocabSize: V }) : [];
  const normLayers = m.measureHiddenNorm ? m.measureHiddenNorm(h as never, { layers: LAYERS, dModel: D, vocabSize: V }) : [];
  const phaseStreams = m.phases ? (m.phases(h as never, 0).find((p) => p.name === (opts.phase ?? p.name))?.streams ?? m.streams) : m.streams;
  const rand = (n: number, scale = 1.5) => Float64Array.from({ length: n }, () => rng.normal() * scale);
  const data: Partial<Record<StreamName, StreamData>> = {};
  for (const s of phaseStreams) {
    const labels = Array.from({ length: B * S }, (_, i) => (i % S === 0 ? -100 : rng.int(V)));
    labels[S + 1] = -100; // an ignored position inside the answer of row 1
    data[s] = {
      logits: rand(B * S * V),
      refLogits: rand(B * S * V),
      labels,
      hidden: Object.fromEntries(layers.map((l) => [l, rand(B * S * D)])),
      refHidden: Object.fromEntries(layers.map((l) => [l, rand(B * S * D)])),
    };
  }
  const phase = opts.phase ?? (m.phases ? m.phases(h as never, 0)[0].name : 'main');

  const build = (g: Graph, asParams: boolean): Tensor => {
    const views: Partial<Record<StreamName, StreamView>> = {};
    for (const [s, d] of Object.entries(data) as [StreamName, StreamData][]) {
      const leaf = (name: string, values: Float64Array, shape: number[]) => (asParams ? g.param(name, shape, 'float64') : g.input(name, shape, 'float64'));
      const logits = leaf(`${s}.logits`, d.logits, [B, S, V]);
      const hidden = Object.fromEntries(layers.map((l) => [l, leaf(`${s}.hidden${l}`, d.hidden[l], [B, S, D])]));
      const labels = g.constant(BigInt64Array.from(d.labels, (x) => BigInt(x)), [B, S], 'int64');
      const ref: ModelOutputs = {
        logits: g.constant(d.refLogits, [B, S, V], 'float64'),
        hidden: (l: number) => g.constant(d.refHidden[l], [B, S, D], 'float64'),
      };
      views[s] = {
        labels,
        mask: answerMask(labels, 'float64'),
        logits,
        hidden: (l: number) => {
          if (!hidden[l]) throw new Error(`layer ${l} not declared in hiddenLayers`);
          return hidden[l];
        },
        ref,
      };
    }
    const ctx: LossContext<Record<string, unknown>> = {
      h,
      phase,
      s: views,
      model: { layers: LAYERS, dModel: D, vocabSize: V },
      constant: (values, shape) => g.constant(Float64Array.from(values), shape, 'float64'),
      rng: () => Rng.derive(7, `method/${m.name}`),
      hiddenNorm: (l: number) => {
        if (!normLayers.includes(l)) throw new Error(`layer ${l} not declared in measureHiddenNorm`);
        return HIDDEN_NORM;
      },
    };
    const r = m.loss(ctx as never);
    return (r as LossResult).loss ?? (r as Tensor);
  };

  const feeds = () => {
    const f: Record<string, Float64Array> = {};
    for (const [s, d] of Object.entries(data) as [StreamName, StreamData][]) {
      f[`${s}.logits`] = d.logits.slice();
      for (const l of layers) f[`${s}.hidden${l}`] = d.hidden[l].slice();
    }
    return f;
  };

  return {
    data,
    h,
    async value() {
      const g = new Graph();
      const loss = build(g, false);
      const c = await CompiledGraph.compile(g, { loss }, { threads: 1 });
      const r = await c.run(feeds());
      await c.release();
      return Number(r.loss.data[0]);
    },
    gradCheck: () => gradCheck((g) => build(g, true), { values: feeds() }),
  };
}

// ---- plain TypeScript reference computations on the same numbers ----

export function logSoftmaxRow(z: ArrayLike<number>, offset: number, temp = 1): number[] {
  const row = Array.from({ length: V }, (_, v) => z[offset + v] / temp);
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}

/** log p(label) per scored position, per row: rows[b] = [[t, logp], …]. */
export function tokenLogProbsRef(logits: Float64Array, labels: number[]): [number, number][][] {
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: S }, (_, t) => t)
      .filter((t) => labels[b * S + t] !== -100)
      .map((t) => [t, logSoftmaxRow(logits, (b * S + t) * V)[labels[b * S + t]]] as [number, number]),
  );
}

/** Mean answer-token cross-entropy over the batch (PyTorch ignore_index semantics). */
export function ceRef(logits: Float64Array, labels: number[]): number {
  const all = tokenLogProbsRef(logits, labels).flat();
  return -all.reduce((a, [, lp]) => a + lp, 0) / all.length;
}

/** Σ_t log p(y_t) per row. */
export function seqLogProbRef(logits: Float64Array, labels: number[]): number[] {
  return tokenLogProbsRef(logits, labels).map((r) => r.reduce((a, [, lp]) => a + lp, 0));
}

/** Mean over scored tokens of KL(p_ref ‖ p_θ), temperature T on both, × T². */
export function klRef(refLogits: Float64Array, logits: Float64Array, labels: number[], temp = 1): number {
  let sum = 0, n = 0;
  for (let i = 0; i < B * S; i++) {
    if (labels[i] === -100) continue;
    const lr = logSoftmaxRow(refLogits, i * V, temp);
    const lq = logSoftmaxRow(logits, i * V, temp);
    sum += lr.reduce((a, x, v) => a + Math.exp(x) * (x - lq[v]), 0);
    n++;
  }
  return (sum / n) * temp * temp;
}

export const logSigmoid = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** Mean over scored tokens of the soft-target cross-entropy −Σ_v q(v) log p_θ(v), q = softmax(z_ref − β·onehot(y)). */
export function softTargetCERef(refLogits: Float64Array, logits: Float64Array, labels: number[], beta: number): number {
  let sum = 0, n = 0;
  for (let i = 0; i < B * S; i++) {
    if (labels[i] === -100) continue;
    const adjusted = Float64Array.from({ length: V }, (_, v) => refLogits[i * V + v] - (v === labels[i] ? beta : 0));
    const q = logSoftmaxRow(adjusted, 0).map(Math.exp);
    const lp = logSoftmaxRow(logits, i * V);
    sum -= q.reduce((a, qv, v) => a + qv * lp[v], 0);
    n++;
  }
  return sum / n;
}

/** Mean over scored positions of the squared distance Σ_d (h − target)², target [D] or [B, S, D]. */
export function sqDistRef(hidden: Float64Array, target: ArrayLike<number>, labels: number[]): number {
  let sum = 0, n = 0;
  for (let i = 0; i < B * S; i++) {
    if (labels[i] === -100) continue;
    for (let d = 0; d < D; d++) {
      const t = target.length === D ? target[d] : target[i * D + d];
      sum += (hidden[i * D + d] - t) ** 2;
    }
    n++;
  }
  return sum / n;
}

/** L̄ per row: mean NLL over the row's scored tokens. */
export function meanNllRef(logits: Float64Array, labels: number[]): number[] {
  return tokenLogProbsRef(logits, labels).map((r) => -r.reduce((a, [, lp]) => a + lp, 0) / r.length);
}
