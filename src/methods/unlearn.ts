/**
 * The unlearning loop: builds, for every phase and batch shape, one graph holding the streams' forward
 * passes (and the frozen reference model's, when the method asks for it), the method's loss and the
 * cross-cutting L1 regulariser; the engine differentiates it and the trainer steps.
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Graph, type Tensor } from '../engine/graph.ts';
import { bindParams, type ParamLookup } from '../engine/params.ts';
import { Trainer, type OptimizerOptions } from '../engine/step.ts';
import { answerMask } from '../engine/losses.ts';
import { type LoadedModel, type ModelBatch, type ModelDims, shapeKey } from '../models/model.ts';
import { type Example, type ImageTensors } from '../train/examples.ts';
import { loraDeltaExpr } from '../models/lora.ts';
import { trainableNames } from '../train/trainable.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { stopOnNonFinite } from '../engine/non-finite.ts';
import {
  type AnyMethod, type HyperOf, type HyperSchema, type LossContext, type LossResult, type MethodDefinition, type ModelInfo, type ModelOutputs,
  type Phase, type StreamName, type StreamView, validateHyperparameters, streamsOf,
} from './api.ts';
import { passBatches, retainPassSamples, stepSamples, type StreamSample } from './streams.ts';
import { meanAnswerHiddenNorms } from './hidden-norm.ts';

const REF = 'ref.';
const START = 'start.';
/** What to try when a step's loss is not finite: too large a step, or a loss term that diverges (log of 0). */
const NON_FINITE_FIX = "lower the learning rate (unlearning.lr, or lr in the method's entry of the run config); if that does not help, check the method's loss for a log or division that can reach 0";

/**
 * What an unlearning run is asked to do, whatever it runs on: defined once, here, where it is carried out.
 * The job (unlearning-job.ts: which checkpoint, data and output) and the pipeline's job spec extend it.
 */
export interface UnlearningSettings<S extends HyperSchema = HyperSchema> {
  method: MethodDefinition<S>;
  hyperparameters?: Record<string, unknown>;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Parameter-name prefixes kept frozen (default: what the model kind freezes, the vision encoder for the VLM). */
  frozen?: readonly string[];
  /** λ of the CLEAR paper's λ·‖ΔW‖₁ (ΔW = θ − θ_start, or the LoRA product). */
  l1Lambda?: number;
  onStep?: (s: UnlearnStepLog) => void;
}

/** The unlearning loop's input: the settings on a loaded model and its data. */
export interface UnlearnOptions<S extends HyperSchema = HyperSchema> extends UnlearningSettings<S> {
  /** Trained in place. */
  model: LoadedModel;
  forget: readonly Example[];
  retain: readonly Example[];
  images: ImageTensors;
  optimizer: OptimizerOptions;
  logFile?: string;
}

export interface UnlearnStepLog {
  step: number;
  epoch: number;
  phase: string;
  loss: number;
  lr: number;
  grad_norm: number | null;
  metrics: Record<string, number>;
  total_steps: number;
}

export interface UnlearnSummary {
  steps: number;
  wallS: number;
  finalLoss: number;
  trained: string[];
}

export function modelInfo(dims: ModelDims): ModelInfo {
  return { layers: dims.layers, dModel: dims.dModel, vocabSize: dims.vocabSize };
}

/** A lookup reading another name prefix of the same store (the frozen copies). */
function prefixed(P: ParamLookup, prefix: string): ParamLookup {
  return Object.assign((name: string) => P(prefix + name), { has: (name: string) => P.has(prefix + name) });
}

export async function unlearn<S extends HyperSchema>(o: UnlearnOptions<S>): Promise<UnlearnSummary> {
  const m = o.method;
  const h = validateHyperparameters(m, o.hyperparameters);
  const info = modelInfo(o.model.dims);
  const { model } = o;
  const store = model.params;
  if (!o.forget.length) throw new UserError('the forget set is empty; check the forget split and the modality');
  const streams = streamsOf(m as AnyMethod, h, o.epochs);
  if (!o.retain.length && (streams.includes('retain') || streams.includes('retain_answer'))) {
    throw new UserError(`method '${m.name}' needs retain data, and the retain set is empty`);
  }

  const phasesOf = (epoch: number): Phase[] => (m.phases ? m.phases(h, epoch) : [{ name: 'main', streams: m.streams }]);
  for (let e = 0; e < o.epochs; e++) for (const p of phasesOf(e)) checkPhase(m.name, p, o.retain.length);
  // Measured on the starting parameters, before the frozen copies join the store.
  const normLayers = m.measureHiddenNorm ? m.measureHiddenNorm(h, info) : [];
  const norms = normLayers.length
    ? await meanAnswerHiddenNorms({ model, examples: o.forget, images: o.images, layers: normLayers, batchSize: o.batchSize, seed: o.seed, threads: o.optimizer.threads })
    : new Map<number, number>();

  const method = m as AnyMethod;
  const trained = trainableNames(model, o.frozen, (n) => (method.trainable ? method.trainable(n, h as never, info) : true), 'unlearning.frozen (or the method entry\'s frozen)');
  if (!trained.length) throw new UserError(`method '${m.name}' leaves no parameter to train; check 'frozen' and the method's trainable filter`);
  const start = store.clone();
  for (const e of store.entries()) e.trainable = trained.includes(e.name);
  if (m.reference) for (const e of start.entries()) store.add(REF + e.name, e.shape, e.data.slice(), false);
  const l1 = o.l1Lambda ?? 0;
  const lora = trained.some((n) => n.endsWith('.lora_A'));
  if (l1 > 0 && !lora) for (const n of trained) store.add(START + n, store.get(n).shape, store.get(n).data.slice(), false);

  const trainer = await Trainer.create(store, o.optimizer);
  const hidden = m.hiddenLayers ? m.hiddenLayers(h, info) : [];
  const draws = m.draws ? m.draws(h) : {};
  // One order generator per set, so adding a pass over the retain set leaves the forget batches as they were.
  const rngOf = { forget: Rng.derive(o.seed, `unlearn-batches/${m.name}`), retain: Rng.derive(o.seed, `unlearn-retain-batches/${m.name}`) };
  const setOf = (p: Phase) => (p.over === 'retain' ? o.retain : o.forget);
  const plan = Array.from({ length: o.epochs }, (_, e) => {
    // Each set is shuffled once per epoch; passes over the same set share that order.
    const shared = new Map<string, number[][]>();
    return phasesOf(e).map((p) => {
      const over = p.over ?? 'forget';
      const key = `${over}|${p.steps ?? ''}`;
      if (!shared.has(key)) shared.set(key, passBatches(setOf(p), o.batchSize, rngOf[over], p.steps));
      return { phase: p, batches: shared.get(key)! };
    });
  });
  const totalSteps = plan.flat().reduce((a, x) => a + x.batches.length, 0);
  if (o.logFile) {
    mkdirSync(dirname(o.logFile), { recursive: true });
    rmSync(o.logFile, { force: true });
  }

  const t0 = performance.now();
  let finalLoss = NaN;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const { phase, batches } of plan[epoch]) {
      for (const batch of batches) {
        const samples = phase.over === 'retain' ? retainPassSamples(batch, o.retain, o.seed, epoch) : stepSamples(batch, o.forget, o.retain, phase.streams, o.seed, epoch, draws);
        const encoded: Partial<Record<StreamName, ModelBatch>> = {};
        const feeds: Record<string, never> = {};
        for (const s of phase.streams) {
          const b = encodeStream(model, samples[s]!, o.images);
          encoded[s] = b;
          for (const [k, v] of Object.entries(b.feeds)) feeds[`${s}.${k}`] = v as never;
          feeds[`${s}.targets`] = b.targets as never;
        }
        const key = `${phase.name}|${phase.streams.map((s) => `${s}:${shapeKey(encoded[s]!.shape)}`).join('|')}`;
        const build = (g: Graph) => buildLoss(g, { m: m as AnyMethod, h, phase: phase.name, model, info, encoded, hidden, norms, seed: o.seed, l1, lora, trained });
        const r = await trainer.run(key, build, feeds).catch((e: unknown) => {
          throw stopOnNonFinite(e, { what: `unlearning with '${m.name}'`, totalSteps, epoch, epochs: o.epochs, phase: phase.name, fix: NON_FINITE_FIX });
        });
        finalLoss = r.loss;
        if (r.step === null) continue;
        const log: UnlearnStepLog = { step: r.step, epoch, phase: phase.name, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, metrics: r.metrics, total_steps: totalSteps };
        if (o.logFile) appendFileSync(o.logFile, `${JSON.stringify(log)}\n`);
        o.onStep?.(log);
      }
    }
  }

  // Drop the frozen copies before anything else sees the store.
  for (const n of store.names()) if (n.startsWith(REF) || n.startsWith(START)) store.remove(n);
  m.finalize?.({ h: h as HyperOf<S>, store, start, trained });
  return { steps: trainer.step, wallS: (performance.now() - t0) / 1000, finalLoss, trained };
}

/** A pass over the retain set trains on its batches alone: one 'retain' stream, and a retain set to iterate. */
function checkPhase(method: string, p: Phase, retainCount: number): void {
  if (p.over !== 'retain') return;
  if (p.streams.length !== 1 || p.streams[0] !== 'retain') throw new Error(`method '${method}' phase '${p.name}' iterates the retain set, so its only stream must be 'retain' (got ${p.streams.join(', ')})`);
  if (!retainCount) throw new UserError(`method '${method}' iterates the retain set, and the retain set is empty`);
}

function encodeStream(model: LoadedModel, samples: readonly StreamSample[], images: ImageTensors): ModelBatch {
  const enc = samples.map((s) => model.encode({ question: s.question, answer: s.answer, image: s.image ? images.get(s.image)! : null }));
  return model.batch(enc, { padSide: 'right' });
}

interface BuildArgs {
  m: AnyMethod;
  h: Record<string, unknown>;
  phase: string;
  model: LoadedModel;
  info: ModelInfo;
  encoded: Partial<Record<StreamName, ModelBatch>>;
  hidden: number[];
  norms: ReadonlyMap<number, number>;
  seed: number;
  l1: number;
  lora: boolean;
  trained: string[];
}

function buildLoss(g: Graph, a: BuildArgs): { loss: Tensor; metrics?: Record<string, Tensor> } {
  const P = bindParams(g, a.model.params);
  const refP = prefixed(P, REF);
  const views: Partial<Record<StreamName, StreamView>> = {};
  for (const [s, batch] of Object.entries(a.encoded) as [StreamName, ModelBatch][]) {
    const inputs = a.model.declareInputs(g, batch.shape, `${s}.`);
    const labels = g.input(`${s}.targets`, [batch.shape.B, batch.shape.S], 'int64');
    const lazyForward = (lookup: ParamLookup, detach: boolean): ModelOutputs => {
      let out: { logits: Tensor; hidden: Record<number, Tensor> } | null = null;
      const get = () => {
        if (!out) {
          const f = a.model.forward(g, lookup, inputs, { hiddenLayers: a.hidden });
          out = detach
            ? { logits: f.logits.detach(), hidden: Object.fromEntries(Object.entries(f.hidden).map(([k, v]) => [k, v.detach()])) }
            : { logits: f.logits, hidden: f.hidden };
        }
        return out;
      };
      return {
        get logits() {
          return get().logits;
        },
        hidden(layer: number) {
          const t = get().hidden[layer];
          if (!t) throw new Error(`hidden state of layer ${layer} was not declared in the method's hiddenLayers`);
          return t;
        },
      };
    };
    const own = lazyForward(P, false);
    const ref = a.m.reference ? lazyForward(refP, true) : null;
    views[s] = {
      labels,
      mask: answerMask(labels),
      get logits() {
        return own.logits;
      },
      hidden: (l: number) => own.hidden(l),
      get ref(): ModelOutputs {
        if (!ref) throw new Error(`method '${a.m.name}' reads the reference model; set reference: true in its definition`);
        return ref;
      },
    };
  }
  let rng: Rng | null = null;
  const ctx: LossContext<Record<string, unknown>> = {
    h: a.h,
    phase: a.phase,
    s: views,
    model: a.info,
    constant: (values, shape) => g.constant(values, shape),
    rng: () => (rng ??= Rng.derive(a.seed, `method/${a.m.name}`)),
    hiddenNorm: (layer) => {
      const v = a.norms.get(layer);
      if (v === undefined) throw new Error(`the hidden-state norm of layer ${layer} was not declared in the method's measureHiddenNorm`);
      return v;
    },
  };
  const res = a.m.loss(ctx as never);
  const { loss, metrics = {} } = (res as LossResult).loss ? (res as LossResult) : { loss: res as Tensor, metrics: {} };
  if (a.l1 <= 0) return { loss, metrics };
  const reg = l1Penalty(P, a);
  return { loss: loss.add(reg.mul(a.l1)), metrics: { ...metrics, l1: reg } };
}

/** ‖ΔW‖₁ summed over the trained weights: ΔW = θ − θ_start, or scale·A·B for LoRA adapters. */
function l1Penalty(P: ParamLookup, a: BuildArgs): Tensor {
  let acc: Tensor | null = null;
  for (const n of a.trained) {
    let term: Tensor;
    if (a.lora) {
      if (!n.endsWith('.lora_A')) continue;
      const prefix = n.slice(0, -'.lora_A'.length);
      term = loraDeltaExpr(P, prefix).abs().sum();
    } else {
      term = P(n).sub(P(START + n)).abs().sum();
    }
    acc = acc ? acc.add(term) : term;
  }
  if (!acc) throw new Error('no trained weights for the L1 regulariser');
  return acc;
}
