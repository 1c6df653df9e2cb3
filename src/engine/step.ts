/**
 * Training steps. One ONNX session per batch shape computes the loss and the gradients of the trainable
 * parameters, writing the gradients straight into a WebAssembly memory that also holds the parameters and
 * the optimiser state; a fused SIMD kernel then updates them in place (kernels.ts). PyTorch semantics:
 * a parameter the loss does not reach gets no update at all (its .grad would be None).
 */
import * as ort from 'onnxruntime-node';
import { Graph, type Tensor } from './graph.ts';
import { grad } from './autodiff.ts';
import { CompiledGraph, type Feeds } from './session.ts';
import { type ParamStore, type ParamEntry } from './params.ts';
import { type OptimizerConfig, type ScheduleConfig, clipCoefficient, lrMultiplier, stateSlots } from './optim.ts';
import { type OptimKernels, optimKernels } from './kernels.ts';
import { NonFiniteStepError, nonFinite } from './non-finite.ts';

export interface LossBuild {
  loss: Tensor;
  /** Extra scalar outputs reported with each step (e.g. the parts of a composite loss). */
  metrics?: Record<string, Tensor>;
}
/** Builds the loss for one batch shape; declares data with g.input and parameters with g.param(name, shape). */
export type LossBuilder = (g: Graph) => LossBuild;

export interface OptimizerOptions {
  optimizer: OptimizerConfig;
  schedule?: ScheduleConfig;
  /** Clip by global gradient norm (null: no clipping). */
  maxGradNorm?: number | null;
  /** Micro-batches whose gradients are averaged per optimiser step. */
  accumulate?: number;
  /** Which parameters get weight decay (default: all, like a single PyTorch param group). */
  decay?: (entry: ParamEntry) => boolean;
  threads?: number;
  /** Profile the step sessions (onnxruntime JSON trace with this prefix). */
  profilePrefix?: string;
}

export interface StepResult {
  /** 1-based optimiser step that this call completed, or null for a micro-batch that only accumulated. */
  step: number | null;
  loss: number;
  /** Global gradient norm before clipping (of the averaged gradient on an optimiser step). */
  gradNorm: number | null;
  lr: number;
  metrics: Record<string, number>;
}

/** Where one trainable parameter lives in the arena (float offsets, 4-aligned). */
interface Slot {
  entry: ParamEntry;
  offset: number;
  length: number;
  decay: boolean;
}

interface CompiledStep {
  graph: CompiledGraph;
  metricNames: string[];
  /** Trainable parameters the loss reaches, and their preallocated gradient outputs. */
  used: Slot[];
  gradFetches: Record<string, ort.Tensor>;
}

const FLOAT = 4;

export class Trainer {
  step = 0;
  /** Wall time of the last call: the ONNX session and the optimiser kernels (ms). */
  readonly lastTimings = { sessionMs: 0, optimizerMs: 0 };
  private micro = 0;
  private readonly usedInWindow = new Set<Slot>();
  private readonly graphs = new Map<string, Promise<CompiledStep>>();
  readonly accumulate: number;
  private readonly regions: Record<string, number> = {};

  private constructor(
    readonly store: ParamStore,
    readonly opts: OptimizerOptions,
    private readonly slots: Slot[],
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: OptimKernels,
    regionNames: string[],
    private readonly total: number,
  ) {
    this.accumulate = opts.accumulate ?? 1;
    regionNames.forEach((r, i) => (this.regions[r] = i * total * FLOAT));
  }

  /**
   * Lay out the store's trainable parameters in a fresh WebAssembly memory and point their entries at it.
   * The set of trainable parameters is fixed for the trainer's life.
   */
  static async create(store: ParamStore, opts: OptimizerOptions): Promise<Trainer> {
    const accumulate = opts.accumulate ?? 1;
    if (!Number.isInteger(accumulate) || accumulate < 1) throw new Error('accumulate must be a positive integer');
    const decay = opts.decay ?? (() => true);
    const slots: Slot[] = [];
    let total = 0;
    for (const e of store.entries()) {
      if (!e.trainable) continue;
      slots.push({ entry: e, offset: total, length: e.data.length, decay: decay(e) });
      total += Math.ceil(e.data.length / 4) * 4;
    }
    total = Math.max(total, 4);
    const regionNames = ['param', 'grad', ...(accumulate > 1 ? ['micro'] : []), ...stateSlots(opts.optimizer)];
    const bytes = regionNames.length * total * FLOAT;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const kernels = await optimKernels(memory);
    const trainer = new Trainer(store, opts, slots, memory, kernels, regionNames, total);
    for (const s of slots) {
      const view = trainer.view('param', s);
      view.set(s.entry.data);
      s.entry.data = view;
    }
    return trainer;
  }

  private view(region: string, s: Slot): Float32Array {
    return new Float32Array(this.memory.buffer, this.regions[region] + s.offset * FLOAT, s.length);
  }
  private ptr(region: string, s: Slot): number {
    return this.regions[region] + s.offset * FLOAT;
  }

  /** A copy of the gradient of the last optimiser step (averaged over its micro-batches, before clipping). */
  gradient(name: string): Float32Array {
    const s = this.slots.find((x) => x.entry.name === name);
    if (!s) throw new Error(`${name} is not a trainable parameter`);
    const g = this.view('grad', s).slice();
    if (this.accumulate > 1) for (let i = 0; i < g.length; i++) g[i] /= this.accumulate;
    return g;
  }

  lrAt(step: number): number {
    const base = this.opts.optimizer.lr;
    return this.opts.schedule ? base * lrMultiplier(this.opts.schedule, step) : base;
  }

  /** Run one micro-batch (`key` names the batch shape; the builder runs once per key). */
  async run(key: string, build: LossBuilder, batch: Feeds): Promise<StepResult> {
    let pending = this.graphs.get(key);
    if (!pending) {
      pending = this.compile(build);
      this.graphs.set(key, pending);
    }
    const c = await pending;
    const feeds: Feeds = { ...this.store.feeds(), ...batch };
    const fetches: Record<string, ort.Tensor | null> = { loss: null, ...c.gradFetches };
    for (const m of c.metricNames) fetches[`metric_${m}`] = null;
    const t0 = performance.now();
    const out = await c.graph.runWith(feeds, fetches);
    const t1 = performance.now();
    this.lastTimings.sessionMs = t1 - t0;
    this.lastTimings.optimizerMs = 0;
    const metrics: Record<string, number> = {};
    for (const m of c.metricNames) metrics[m] = Number(out[`metric_${m}`].data[0]);
    const loss = Number(out.loss.data[0]);

    const k = this.accumulate;
    if (k > 1) {
      for (const s of c.used) {
        if (!this.usedInWindow.has(s)) {
          this.view('grad', s).fill(0);
          this.usedInWindow.add(s);
        }
        this.kernels.accumulate(this.ptr('grad', s), this.ptr('micro', s), s.length);
      }
    } else {
      for (const s of c.used) this.usedInWindow.add(s);
    }
    this.micro++;
    const stepNo = this.step + 1;
    const lr = this.lrAt(stepNo);
    if (this.micro < k) {
      if (!Number.isFinite(loss)) this.discardWindow(new NonFiniteStepError(stepNo, nonFinite({ loss, ...metrics })));
      return { step: null, loss, gradNorm: null, lr, metrics };
    }

    const used = [...this.usedInWindow];
    let sq = 0;
    for (const s of used) sq += this.kernels.sumsq(this.ptr('grad', s), s.length);
    const gradNorm = Math.sqrt(sq) / k;
    // Checked before the update: one NaN gradient would make every weight (and AdamW's moments) NaN.
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) this.discardWindow(new NonFiniteStepError(stepNo, nonFinite({ loss, ...metrics, grad_norm: gradNorm })));
    this.usedInWindow.clear();
    this.micro = 0;
    const clip = this.opts.maxGradNorm ? clipCoefficient(gradNorm, this.opts.maxGradNorm) : 1;
    this.applyUpdate(used, lr, stepNo, clip / k);
    this.lastTimings.optimizerMs = performance.now() - t1;
    this.step = stepNo;
    return { step: stepNo, loss, gradNorm, lr, metrics };
  }

  /** Drops the current step's gradients without updating anything, then throws `e` (the trainer stays usable). */
  private discardWindow(e: NonFiniteStepError): never {
    this.usedInWindow.clear();
    this.micro = 0;
    throw e;
  }

  private applyUpdate(used: Slot[], lr: number, step: number, scale: number): void {
    const o = this.opts.optimizer;
    if (o.type === 'adamw') {
      const [b1, b2] = o.betas ?? [0.9, 0.999];
      const stepSize = lr / (1 - b1 ** step);
      const invSqrtBc2 = 1 / Math.sqrt(1 - b2 ** step);
      const keep = 1 - lr * (o.weightDecay ?? 0.01);
      for (const s of used) {
        this.kernels.adamw(this.ptr('param', s), this.ptr('grad', s), this.ptr('m', s), this.ptr('v', s), this.padded(s),
          b1, b2, stepSize, invSqrtBc2, o.eps ?? 1e-8, s.decay ? keep : 1, scale);
      }
    } else {
      const mom = o.momentum ?? 0;
      for (const s of used) {
        this.kernels.sgd(this.ptr('param', s), this.ptr('grad', s), this.ptr('buf', s), this.padded(s),
          lr, mom, o.dampening ?? 0, s.decay ? (o.weightDecay ?? 0) : 0, scale, step === 1 ? 1 : 0, o.nesterov ? 1 : 0, mom !== 0 ? 1 : 0);
      }
    }
  }

  private padded(s: Slot): number {
    return Math.ceil(s.length / 4) * 4;
  }

  private async compile(build: LossBuilder): Promise<CompiledStep> {
    const g = new Graph();
    const { loss, metrics = {} } = build(g);
    if (loss.size !== 1) throw new Error(`loss must be a scalar, got [${loss.shape}]`);
    const graphParams = new Map(g.params().map((p) => [p.name, p]));
    for (const name of graphParams.keys()) if (!this.store.has(name)) throw new Error(`graph parameter ${name} is not in the parameter store`);
    const reached = reachedInputs(loss);
    const used = this.slots.filter((s) => graphParams.has(s.entry.name) && reached.has(graphParams.get(s.entry.name)!));
    const grads = grad(loss, used.map((s) => graphParams.get(s.entry.name)!));
    const outputs: Record<string, Tensor> = { loss };
    for (const [k, t] of Object.entries(metrics)) outputs[`metric_${k}`] = t;
    const gradFetches: Record<string, ort.Tensor> = {};
    const target = this.accumulate > 1 ? 'micro' : 'grad';
    used.forEach((s, i) => {
      const name = `grad:${s.entry.name}`;
      outputs[name] = grads[i];
      gradFetches[name] = new ort.Tensor('float32', this.view(target, s), s.entry.shape as number[]);
    });
    const graph = await CompiledGraph.compile(g, outputs, { threads: this.opts.threads, profilePrefix: this.opts.profilePrefix });
    return { graph, metricNames: Object.keys(metrics), used, gradFetches };
  }

  /** The compiled sessions so far (for profiling and release). */
  async sessions(): Promise<CompiledGraph[]> {
    return Promise.all([...this.graphs.values()].map(async (p) => (await p).graph));
  }
}

/** Graph inputs that a tensor depends on through differentiable paths (StopGradient cuts). */
function reachedInputs(t: Tensor): Set<Tensor> {
  const seen = new Set<Tensor>();
  const inputs = new Set<Tensor>();
  const stack = [t];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    if (!x.producer) inputs.add(x);
    else if (x.producer.op !== 'StopGradient') for (const i of x.producer.inputs) if (i) stack.push(i);
  }
  return inputs;
}
