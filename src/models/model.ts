/**
 * The model seam: training, unlearning, evaluation, generation, export and the benchmarks reach a model only
 * through `LoadedModel`, and a checkpoint directory becomes one through the `ModelKind` its config.json names
 * (model-kinds.ts). The built-in VLM presets (vlm-model.ts) are the first kind; another architecture (a
 * Hugging Face causal LM or LLaVA read from config.json + safetensors + tokenizer.json) is a new kind, and
 * methods, eval and the pipeline do not change.
 *
 * What a kind owns: the forward graph of a batch (logits, chosen hidden states, keys/values), the decode step
 * of cached generation, its parameters by name and which of them train by default, saving, the tokenizer and
 * chat format (prompt/answer rendering and label masking, encode()), batching into graph feeds, and image
 * preprocessing. What it does not: losses, optimisers, data streams and metrics, which are written against
 * logits and hidden states.
 */
import { type Graph, type Tensor } from '../engine/graph.ts';
import { type ParamLookup, type ParamStore } from '../engine/params.ts';
import { type Feeds } from '../engine/session.ts';
import { type BatchImage } from '../data/images.ts';
import { type TensorCache } from '../data/tensor-cache.ts';
import { type Tokenizer } from './tokenizer/tokenizer.ts';
import { type EncodedSample, type Sample } from './batch.ts';
import { type KV } from './transformer.ts';

export type { EncodedSample, Sample, KV };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The sizes losses, methods and the generator need, whatever the architecture. */
export interface ModelDims {
  /** Decoder layers (hidden states are numbered 0 … layers − 1). */
  layers: number;
  /** Width of the decoder's residual stream. */
  dModel: number;
  vocabSize: number;
  /** Longest sequence the model takes (positions, image slots and generated tokens included). */
  maxSeq: number;
}

/** One batch's shape: a compiled session serves exactly one. */
export interface BatchShape {
  B: number;
  S: number;
  image: boolean;
  /** Declare a key-padding mask (left-padded generation prompts). */
  keyMask?: boolean;
}

/** A batch ready for the graph: its shape, the feeds of the inputs declareInputs made, and next-token targets. */
export interface ModelBatch {
  shape: BatchShape;
  feeds: Feeds;
  /** Next-token targets [B, S] aligned with the logits (IGNORE_LABEL where nothing is predicted). */
  targets: BigInt64Array;
  /** Real (unpadded) length of each row. */
  lengths: number[];
}

/** A batch shape's session key. */
export function shapeKey(s: BatchShape): string {
  return `${s.B}x${s.S}${s.image ? 'i' : 't'}${s.keyMask ? 'm' : ''}`;
}

/** The graph inputs of one batch shape, as the kind declared them (only its own forward reads them). */
export type ModelInputs = Readonly<Record<string, Tensor | undefined>>;

export interface ForwardWants {
  /** Decoder layers whose residual stream (after the layer) the caller reads. */
  hiddenLayers?: readonly number[];
}

export interface ForwardOutputs {
  /** Logits [B, S, V]. */
  logits: Tensor;
  /** hidden[l]: the residual stream after layer l [B, S, D], for the layers asked for. */
  hidden: Record<number, Tensor>;
  /** Per layer, the keys and values (for the generation cache). */
  kv: KV[];
}

/** One decode step of cached generation: one new token per row against the caches of the earlier ones. */
export interface DecodeStepInputs {
  /** The new token of each row [B] (int64). */
  ids: Tensor;
  /** Its position [B] (int64). */
  positions: Tensor;
  /** Per layer, the key/value caches (shape kvCacheShape) before this step. */
  cache: KV[];
  /** int64 [B, H, 3]: the ScatterND indices (b, h, column) of the cache rows this step writes. */
  writeAt: Tensor;
  /** Additive [B, 1, 1, Smax]: 0 on the columns the new token attends to (itself included), −1e9 elsewhere. */
  attnMask: Tensor;
}

export interface LoadedModel {
  /** The kind that made it (config.json `format`). */
  readonly kind: ModelKind;
  /** Every parameter by name; training updates them in place. */
  readonly params: ParamStore;
  readonly tokenizer: Tokenizer;
  readonly dims: ModelDims;
  /** A model without an image input (image examples are left out of its training data). */
  readonly textOnly?: boolean;

  /** The chat format: question (+ image slots) and answer as ids, labels on the answer tokens only. */
  encode(sample: Sample): EncodedSample;
  /** Collate encoded samples (all with images or all without): right padding to train and score, left to generate. */
  batch(samples: readonly EncodedSample[], opts: { padSide: 'right' | 'left'; padTo?: number }): ModelBatch;
  /** Decode and resize images to the model's input, one tensor per image (through the disk cache when given). */
  preprocessImages(images: readonly BatchImage[], cache?: TensorCache): Promise<Float32Array[]>;

  /** Declare the graph inputs of one batch shape; `prefix` namespaces them when a graph holds several batches. */
  declareInputs(g: Graph, shape: BatchShape, prefix?: string): ModelInputs;
  /** The forward graph on `inputs` with the parameters `P` reads (the model's own, or a frozen copy's). */
  forward(g: Graph, P: ParamLookup, inputs: ModelInputs, wants?: ForwardWants): ForwardOutputs;
  /** Final norm and LM head on hidden states [..., D] → logits [..., V]. */
  head(P: ParamLookup, hidden: Tensor): Tensor;
  /** One decode step: logits [B, V] of the new tokens and the caches with their keys/values written. */
  decodeStep(P: ParamLookup, x: DecodeStepInputs): { logits: Tensor; cache: KV[] };
  /** Shape of one layer's key (or value) cache for B rows and Smax columns. */
  kvCacheShape(B: number, Smax: number): number[];

  /**
   * The inputs an exported file takes, when they are not declareInputs' (LLaVA exports Hugging Face's
   * input_ids / attention_mask / pixel_values and derives its own from them in the graph), with what each means.
   */
  exportInputs?(g: Graph, shape: { B: number; S: number; image: boolean }): { inputs: ModelInputs; doc: Record<string, string> };
  /** The linear layers (weight [in, out] names without `.weight`) LoRA may adapt, when the kind names them itself. */
  linearLayers?(): string[];
  /** Whether a parameter trains when the run names no frozen modules (CLEAR freezes the vision encoder). */
  defaultTrainable(name: string): boolean;
  /** The same architecture and tokenizer over other parameters (e.g. a fine-tuned copy). */
  withParams(params: ParamStore): LoadedModel;
  /** Write the checkpoint directory (atomically), with how the model was trained. */
  save(dir: string, training?: Record<string, JsonValue>): void;
  /** The checkpoint's free-form description, for export metadata and reports. */
  describe(): Record<string, JsonValue>;
}

export interface ModelKind {
  /** The `format` of the config.json this kind reads and writes. */
  readonly id: string;
  /** Load a checkpoint directory whose config.json names this kind. */
  load(checkpointDir: string): LoadedModel;
}
