/**
 * The surface an unlearning method plugin sees. A method declares its hyperparameters, the data streams
 * it needs each step, whether it needs the frozen reference model, and writes its loss with tensor
 * expressions over those streams. The harness builds the graph, differentiates it and steps the optimiser;
 * a method never touches the engine's sessions, ONNX or the optimiser.
 */
import { type Tensor } from '../engine/graph.ts';
import { type ParamStore } from '../engine/params.ts';
import { type Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';

export * as losses from '../engine/losses.ts';
export { Tensor } from '../engine/graph.ts';

/**
 * Data streams, each a batch aligned sample-by-sample with the forget batch of the step:
 * - forget:        forget prompt → its answer
 * - retain:        a retain sample drawn uniformly (seeded), same modality as the forget sample
 * - idk:           forget prompt → a random "I don't know" answer
 * - retain_answer: forget prompt → the answer of a random retain sample (LLMU)
 * - forget_other:  forget prompt → the answer of a random sample of another forget person (SKU)
 */
export type StreamName = 'forget' | 'retain' | 'idk' | 'retain_answer' | 'forget_other';
export const STREAM_NAMES: readonly StreamName[] = ['forget', 'retain', 'idk', 'retain_answer', 'forget_other'];

/** Model outputs for one stream; built lazily, so a loss pays only for what it reads. */
export interface ModelOutputs {
  /** Logits [B, S, V]. */
  readonly logits: Tensor;
  /** Residual stream after decoder layer `layer` (0-based) [B, S, D]; the layer must be declared in hiddenLayers. */
  hidden(layer: number): Tensor;
}

export interface StreamView extends ModelOutputs {
  /** Next-token targets [B, S] aligned with the logits (−100 where nothing is scored). */
  readonly labels: Tensor;
  /** 1 on scored (answer) positions, 0 elsewhere: float [B, S]. */
  readonly mask: Tensor;
  /** The frozen reference model (the model unlearning started from), detached. Needs `reference: true`. */
  readonly ref: ModelOutputs;
}

export interface ModelInfo {
  layers: number;
  dModel: number;
  vocabSize: number;
}

export interface LossContext<H> {
  /** Validated hyperparameters. */
  h: H;
  /** Name of the current phase (see MethodDefinition.phases). */
  phase: string;
  /** The streams of the current phase. */
  s: Readonly<Partial<Record<StreamName, StreamView>>>;
  model: ModelInfo;
  /** A constant tensor in the graph. */
  constant(values: Float32Array, shape: readonly number[]): Tensor;
  /** A fixed random stream, seeded by the run seed and the method name (same draws every step). */
  rng(): Rng;
  /**
   * Mean Euclidean norm of the starting model's hidden state after decoder layer `layer` over the answer
   * tokens of the whole forget set, measured once before training; the layer must be declared in
   * measureHiddenNorm.
   */
  hiddenNorm(layer: number): number;
}

export interface LossResult {
  loss: Tensor;
  /** Scalars logged with each step (e.g. the terms of a composite loss). */
  metrics?: Record<string, Tensor>;
}

/** One pass of an epoch, training with these streams. */
export interface Phase {
  name: string;
  streams: readonly StreamName[];
  /**
   * The set the pass iterates (default 'forget'). With 'retain' the pass's batches are retain samples
   * themselves (shuffled per epoch, one modality per batch), in the 'retain' stream, its only stream.
   */
  over?: 'forget' | 'retain';
  /**
   * Steps of the pass in its epoch (default: one pass over its set). Fewer takes the first batches of the
   * epoch's shuffled order; more cycles through freshly shuffled orders.
   */
  steps?: number;
}

/** Paired streams that can hold several samples per forget sample (see MethodDefinition.draws). */
export type MultiDrawStream = 'retain_answer' | 'forget_other';

export interface FinalizeContext<H> {
  h: H;
  /** The parameters after training (modified in place). */
  store: ParamStore;
  /** The parameters unlearning started from. */
  start: ParamStore;
  /** Names of the parameters that were trained. */
  trained: readonly string[];
}

export type HyperSpec =
  | { type: 'number'; default: number; min?: number; max?: number; help: string }
  | { type: 'integer'; default: number; min?: number; max?: number; help: string }
  | { type: 'boolean'; default: boolean; help: string }
  | { type: 'enum'; default: string; values: readonly string[]; help: string };

export type HyperSchema = Record<string, HyperSpec>;

/** The hyperparameter object a schema describes. */
export type HyperOf<S extends HyperSchema> = {
  [K in keyof S]: S[K] extends { type: 'boolean' } ? boolean : S[K] extends { type: 'enum' } ? string : number;
};

export interface MethodDefinition<S extends HyperSchema = HyperSchema> {
  name: string;
  description: string;
  hyperparameters: S;
  /** Streams of the default single phase 'main'. */
  streams: readonly StreamName[];
  /** Whether the loss reads `ref` (a frozen copy of the starting model runs in the same graph). */
  reference?: boolean;
  /** Decoder layers whose hidden states the loss reads. */
  hiddenLayers?: (h: HyperOf<S>, model: ModelInfo) => number[];
  /** Decoder layers whose mean hidden-state norm on the forget answer tokens the loss reads (ctx.hiddenNorm). */
  measureHiddenNorm?: (h: HyperOf<S>, model: ModelInfo) => number[];
  /**
   * Samples drawn per forget sample for a paired stream (default 1), e.g. LLMU's K random answers: the
   * stream's batch then holds K rows per forget sample, the forget sample's K draws next to each other.
   */
  draws?: (h: HyperOf<S>) => Partial<Record<MultiDrawStream, number>>;
  /** The passes of each epoch (default: one 'main' pass with `streams`). */
  phases?: (h: HyperOf<S>, epoch: number) => Phase[];
  /** Restrict which parameters train (applied after the run's frozen modules). */
  trainable?: (param: string, h: HyperOf<S>, model: ModelInfo) => boolean;
  loss(ctx: LossContext<HyperOf<S>>): Tensor | LossResult;
  /** Runs once after training (e.g. SKU's task-vector negation). */
  finalize?(ctx: FinalizeContext<HyperOf<S>>): void;
}

/** A method of any hyperparameter schema (what registries and harnesses hold). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDefinition<any>;

/** Identity helper that gives a plugin full type inference. */
export function defineMethod<S extends HyperSchema>(def: MethodDefinition<S>): MethodDefinition<S> {
  return def;
}

/** Fill defaults and check every value against the schema; errors name the method and the key. */
export function validateHyperparameters<S extends HyperSchema>(m: MethodDefinition<S>, given: Record<string, unknown> = {}): HyperOf<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!(key in m.hyperparameters)) {
      throw new UserError(`method '${m.name}' has no hyperparameter '${key}' (it has: ${Object.keys(m.hyperparameters).join(', ') || 'none'})`);
    }
  }
  for (const [key, spec] of Object.entries(m.hyperparameters)) {
    const v = key in given ? given[key] : spec.default;
    const where = `method '${m.name}' hyperparameter '${key}'`;
    switch (spec.type) {
      case 'number':
      case 'integer': {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where} must be a number, got ${JSON.stringify(v)}`);
        if (spec.type === 'integer' && !Number.isInteger(v)) throw new UserError(`${where} must be an integer, got ${v}`);
        if (spec.min !== undefined && v < spec.min) throw new UserError(`${where} must be ≥ ${spec.min}, got ${v}`);
        if (spec.max !== undefined && v > spec.max) throw new UserError(`${where} must be ≤ ${spec.max}, got ${v}`);
        break;
      }
      case 'boolean':
        if (typeof v !== 'boolean') throw new UserError(`${where} must be true or false, got ${JSON.stringify(v)}`);
        break;
      case 'enum':
        if (typeof v !== 'string' || !spec.values.includes(v)) throw new UserError(`${where} must be one of ${spec.values.join(', ')}, got ${JSON.stringify(v)}`);
        break;
    }
    out[key] = v;
  }
  return out as HyperOf<S>;
}

/** Streams a method reads over all its phases. */
export function streamsOf(m: AnyMethod, h: Record<string, unknown>, epochs: number): StreamName[] {
  const set = new Set<StreamName>(m.streams);
  if (m.phases) for (let e = 0; e < epochs; e++) for (const p of m.phases(h as never, e)) for (const s of p.streams) set.add(s);
  return STREAM_NAMES.filter((s) => set.has(s));
}
