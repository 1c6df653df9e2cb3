/**
 * Greedy generation through the model seam (model.ts; docs/SPEC.md §4: greedy, with the image in the input, stopping at `<|eos|>`).
 *
 * `Generator` uses a key/value cache: a prefill graph runs the left-padded prompts [B, Sp] once and returns
 * the first token and every layer's keys/values, padded to a static cache length Smax = Sp + maxNewTokens;
 * then a decode-step graph feeds one token per row [B], writes its k/v into the cache column Sp + t,
 * attends over the cache under an additive mask (left padding and unwritten columns hidden) and returns the
 * next token (ArgMax in the graph) and the updated caches (ScatterND writes the column). Caches live in two
 * preallocated buffer sets that the steps alternate between, so nothing is reallocated per token.
 *
 * `ReferenceGenerator` recomputes the whole sequence (one fixed graph of length Smax) for every new token:
 * the independent computation that the cached path is tested and benchmarked against.
 */
import * as ort from 'onnxruntime-node';
import { Graph, type Tensor } from '../engine/graph.ts';
import { bindParams } from '../engine/params.ts';
import { CompiledGraph, type Feeds } from '../engine/session.ts';
import { UserError } from '../util/errors.ts';
import { type EncodedSample, type Sample, bucketLength } from './batch.ts';
import { type LoadedModel, type ModelBatch, type ModelDims } from './model.ts';
import { SPECIAL_IDS } from './tokenizer/special-tokens.ts';
import { type Tokenizer } from './tokenizer/tokenizer.ts';

export interface GenerateOptions {
  /** Most tokens generated per row (the `<|eos|>` that ends a row is not counted or returned). */
  maxNewTokens: number;
  /** End-of-sequence id (default: the chat format's `<|eos|>`). */
  eosId?: number;
  /** Keep generating after `<|eos|>`, always maxNewTokens tokens (benchmarks). */
  ignoreEos?: boolean;
  /** Also return every step's logits (for tests). */
  recordLogits?: boolean;
}

export interface GenerateResult {
  /** Per row, the generated token ids without the final `<|eos|>`. */
  ids: number[][];
  /** Model evaluations run: the prefill plus the decode steps (or full recomputes). */
  steps: number;
  /** With recordLogits: per step, the logits [B, V] (row-major) the step's token was chosen from. */
  logits?: Float32Array[];
}

export interface Generation {
  ids: number[];
  /** Decoded text of ids, special tokens dropped. */
  text: string;
}

export interface GeneratorOptions {
  /** onnxruntime intra-op threads of the prefill and full-sequence sessions (default: the session default). */
  threads?: number;
  /**
   * Threads of the decode-step session (default 1). A step runs a few hundred microsecond-sized kernels,
   * where a second thread's synchronisation costs more than it saves: measured here, 1 thread was about
   * 2× faster than 2 for the small preset at batch 1 and 8 (on a busy 2-core machine).
   */
  decodeThreads?: number;
}

/** The id-level contract both generators share, plus the text-level API built on it. */
export abstract class BaseGenerator {
  protected readonly sessions = new Map<string, Promise<unknown>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly model: LoadedModel, protected readonly opts: GeneratorOptions = {}) {}

  /** Greedy continuation of one batch of encoded prompts (all with images or all without). */
  generateIds(prompts: readonly EncodedSample[], opts: GenerateOptions): Promise<GenerateResult> {
    // Buffers are reused between calls of the same shape, so calls run one at a time.
    const run = this.queue.then(() => this.runBatch(prompts, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected abstract runBatch(prompts: readonly EncodedSample[], opts: GenerateOptions): Promise<GenerateResult>;

  /**
   * Generate for chat samples (questions with optional images, no answers). Image and text-only samples
   * run in separate batches of at most batchSize rows; results come back in the samples' order.
   */
  async generate(tok: Pick<Tokenizer, 'encode' | 'decode' | 'special'>, samples: readonly Sample[], opts: GenerateOptions & { batchSize?: number }): Promise<Generation[]> {
    const batchSize = opts.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`generation batch size must be a positive integer, got ${batchSize}`);
    const encoded = samples.map((s, i) => {
      if (s.answer !== undefined) throw new Error(`generation prompt ${i} carries an answer; pass the question (and image) only`);
      return this.model.encode(s);
    });
    const out: Generation[] = new Array(samples.length);
    for (const withImage of [true, false]) {
      const rows = encoded.map((_, i) => i).filter((i) => (encoded[i].image !== null) === withImage);
      for (let at = 0; at < rows.length; at += batchSize) {
        const chunk = rows.slice(at, at + batchSize);
        const r = await this.generateIds(chunk.map((i) => encoded[i]), { ...opts, eosId: opts.eosId ?? tok.special.eos });
        chunk.forEach((i, b) => (out[i] = { ids: r.ids[b], text: tok.decode(r.ids[b], { skipSpecial: true }) }));
      }
    }
    return out;
  }

  protected session<T>(key: string, make: () => Promise<T>): Promise<T> {
    let s = this.sessions.get(key) as Promise<T> | undefined;
    if (!s) {
      s = make();
      this.sessions.set(key, s);
    }
    return s;
  }

  protected compile(g: Graph, outputs: Record<string, Tensor>, threads = this.opts.threads): Promise<CompiledGraph> {
    return CompiledGraph.compile(g, outputs, { threads });
  }

  /** Release every compiled session (and the buffers held with them). */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of await Promise.all(all)) {
      const graph = s instanceof CompiledGraph ? s : (s as { graph: CompiledGraph }).graph;
      await graph.release();
    }
  }
}

/** Check the options and that every prompt plus its new tokens fits the model's positions. */
function checkRequest(dims: ModelDims, prompts: readonly EncodedSample[], opts: GenerateOptions): number {
  const n = opts.maxNewTokens;
  if (!Number.isInteger(n) || n < 1) throw new UserError(`max_new_tokens must be a positive integer, got ${n}`);
  const longest = Math.max(...prompts.map((p) => p.ids.length));
  if (longest + n > dims.maxSeq) {
    throw new UserError(
      `a prompt of ${longest} tokens plus max_new_tokens ${n} exceeds the model's ${dims.maxSeq} positions; ` +
        `lower max_new_tokens to at most ${Math.max(dims.maxSeq - longest, 0)} or shorten the prompt`,
    );
  }
  return longest;
}

/** Per-row bookkeeping of greedy decoding: append tokens until eos or the budget. */
class Rows {
  readonly ids: number[][];
  private readonly done: boolean[];
  constructor(B: number, private readonly opts: GenerateOptions) {
    this.ids = Array.from({ length: B }, () => []);
    this.done = new Array(B).fill(false);
  }
  /** Take one chosen token per row; true when every row is finished. */
  take(next: BigInt64Array): boolean {
    const eos = this.opts.eosId ?? SPECIAL_IDS.eos;
    for (let b = 0; b < this.ids.length; b++) {
      if (this.done[b]) continue;
      const id = Number(next[b]);
      if (id === eos && !this.opts.ignoreEos) this.done[b] = true;
      else this.ids[b].push(id);
      if (this.ids[b].length >= this.opts.maxNewTokens) this.done[b] = true;
    }
    return this.done.every(Boolean);
  }
}

const MASKED = -1e9;

interface PrefillSession {
  graph: CompiledGraph;
}

/** Decode-step session of one (B, Smax) with its preallocated double-buffered caches and outputs. */
interface DecodeSession {
  graph: CompiledGraph;
  /** caches[set][2·l] = keys of layer l, [2·l + 1] = values, each [B, H, Smax, dh]. */
  caches: [Float32Array[], Float32Array[]];
  cacheTensors: [ort.Tensor[], ort.Tensor[]];
  next: BigInt64Array;
  nextTensor: ort.Tensor;
  logits: Float32Array;
  logitsTensor: ort.Tensor;
}

/** Cached greedy generation: one prefill, then one decode step per new token. Each call reads the store's current weights. */
export class Generator extends BaseGenerator {
  protected async runBatch(prompts: readonly EncodedSample[], opts: GenerateOptions): Promise<GenerateResult> {
    if (prompts.length === 0) return { ids: [], steps: 0, ...(opts.recordLogits ? { logits: [] } : {}) };
    const { model } = this;
    const longest = checkRequest(model.dims, prompts, opts);
    // Bucketed prompt length: few distinct shapes, so few compiled sessions.
    const Sp = Math.min(bucketLength(longest), model.dims.maxSeq);
    const Smax = Sp + opts.maxNewTokens;
    const batch = model.batch(prompts, { padSide: 'left', padTo: Sp });
    const { B, image } = batch.shape;
    const layers = model.dims.layers;
    const params = model.params.feeds();

    const prefill = await this.session(`prefill:${B}x${Sp}x${Smax}${image ? 'i' : 't'}`, () => this.buildPrefill(B, Sp, Smax, image));
    const dec = await this.session(`decode:${B}x${Smax}`, () => this.buildDecode(B, Smax));
    const logits: Float32Array[] = [];
    const fetches: Record<string, ort.Tensor | null> = { next: dec.nextTensor };
    if (opts.recordLogits) fetches.logits = dec.logitsTensor;
    for (let l = 0; l < layers; l++) {
      fetches[`k${l}`] = dec.cacheTensors[0][2 * l];
      fetches[`v${l}`] = dec.cacheTensors[0][2 * l + 1];
    }
    await prefill.graph.runWith({ ...params, ...batch.feeds }, fetches);
    if (opts.recordLogits) logits.push(dec.logits.slice());

    const rows = new Rows(B, opts);
    const ids = new BigInt64Array(B);
    const positions = new BigInt64Array(B);
    const writeAt = new BigInt64Array(1);
    // Prompt columns follow the key mask; generated columns open one per step.
    const keyMask = batch.feeds.key_mask as Float32Array;
    const mask = new Float32Array(B * Smax).fill(MASKED);
    for (let b = 0; b < B; b++) for (let j = 0; j < Sp; j++) if (keyMask[b * Sp + j] > 0) mask[b * Smax + j] = 0;
    const feeds: Feeds = { ...params, ids, positions, write_at: writeAt, attn_mask: mask };
    const stepFetches: Record<string, ort.Tensor | null> = { next: dec.nextTensor };
    if (opts.recordLogits) stepFetches.logits = dec.logitsTensor;

    let steps = 1;
    for (let t = 0; !rows.take(dec.next) && t + 1 < opts.maxNewTokens; t++) {
      // Token t goes into column Sp + t at position (its row's prompt length + t).
      const col = Sp + t;
      for (let b = 0; b < B; b++) {
        ids[b] = dec.next[b];
        positions[b] = BigInt(batch.lengths[b] + t);
        mask[b * Smax + col] = 0;
      }
      writeAt[0] = BigInt(col);
      const src = t % 2, dst = 1 - src;
      for (let l = 0; l < layers; l++) {
        feeds[`cache_k${l}`] = dec.caches[src][2 * l];
        feeds[`cache_v${l}`] = dec.caches[src][2 * l + 1];
        stepFetches[`new_k${l}`] = dec.cacheTensors[dst][2 * l];
        stepFetches[`new_v${l}`] = dec.cacheTensors[dst][2 * l + 1];
      }
      await dec.graph.runWith(feeds, stepFetches);
      steps++;
      if (opts.recordLogits) logits.push(dec.logits.slice());
    }
    return { ids: rows.ids, steps, ...(opts.recordLogits ? { logits } : {}) };
  }

  private async buildPrefill(B: number, Sp: number, Smax: number, image: boolean): Promise<PrefillSession> {
    const { model } = this;
    const g = new Graph();
    const P = bindParams(g, model.params);
    const x = model.declareInputs(g, { B, S: Sp, image, keyMask: true });
    const last = model.dims.layers - 1;
    const { hidden, kv } = model.forward(g, P, x, { hiddenLayers: [last] });
    // Only the last position's logits are needed: the LM head runs on one column (serialize prunes the rest).
    const logits = model.head(P, hidden[last].slice([Sp - 1], [Sp], [1])).reshape([B, model.dims.vocabSize]);
    const outputs: Record<string, Tensor> = { next: logits.argmax(-1), logits };
    const pad = [0, 0, 0, 0, 0, 0, Smax - Sp, 0];
    kv.forEach(({ k, v }, l) => {
      outputs[`k${l}`] = k.pad(pad);
      outputs[`v${l}`] = v.pad(pad);
    });
    return { graph: await this.compile(g, outputs) };
  }

  private async buildDecode(B: number, Smax: number): Promise<DecodeSession> {
    const { model } = this;
    const { layers, vocabSize } = model.dims;
    const cacheShape = model.kvCacheShape(B, Smax);
    const g = new Graph();
    const P = bindParams(g, model.params);
    const ids = g.input('ids', [B], 'int64');
    const positions = g.input('positions', [B], 'int64');
    const writeAt = g.input('write_at', [1], 'int64');
    const attnMask = g.input('attn_mask', [B, Smax]);
    const cache = Array.from({ length: layers }, (_, l) => ({
      k: g.input(`cache_k${l}`, cacheShape),
      v: g.input(`cache_v${l}`, cacheShape),
    }));
    // ScatterND indices (b, h, column) of the rows to write: a constant (b, h, 0) grid plus the column.
    const H = cacheShape[1];
    const grid = new BigInt64Array(B * H * 3);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) [grid[3 * (b * H + h)], grid[3 * (b * H + h) + 1]] = [BigInt(b), BigInt(h)];
    const rowsAt = g.constant(grid, [B, H, 3], 'int64');
    const columnAxis = g.constant(BigInt64Array.from([0n, 0n, 1n]), [3], 'int64');
    const scatterAt = rowsAt.add(columnAxis.mul(writeAt));
    const r = model.decodeStep(P, { ids, positions, cache, writeAt: scatterAt, attnMask: attnMask.reshape([B, 1, 1, Smax]) });
    const outputs: Record<string, Tensor> = { next: r.logits.argmax(-1), logits: r.logits };
    r.cache.forEach(({ k, v }, l) => {
      outputs[`new_k${l}`] = k;
      outputs[`new_v${l}`] = v;
    });
    const graph = await this.compile(g, outputs, this.opts.decodeThreads ?? 1);
    const size = cacheShape.reduce((a, b) => a * b, 1);
    const caches: [Float32Array[], Float32Array[]] = [0, 1].map(() => Array.from({ length: 2 * layers }, () => new Float32Array(size))) as [Float32Array[], Float32Array[]];
    const cacheTensors = caches.map((set) => set.map((a) => new ort.Tensor('float32', a, cacheShape))) as [ort.Tensor[], ort.Tensor[]];
    const next = new BigInt64Array(B);
    const logitsBuf = new Float32Array(B * vocabSize);
    return {
      graph, caches, cacheTensors, next, nextTensor: new ort.Tensor('int64', next, [B]),
      logits: logitsBuf, logitsTensor: new ort.Tensor('float32', logitsBuf, [B, vocabSize]),
    };
  }
}

/** Copy [B, from] rows into [B, to] rows (left-aligned, zero beyond). */
function widen<T extends Float32Array | BigInt64Array>(src: T, B: number, from: number, to: number, make: (n: number) => T): T {
  const out = make(B * to);
  for (let b = 0; b < B; b++) out.set(src.subarray(b * from, (b + 1) * from) as never, b * to);
  return out;
}

/**
 * Uncached greedy generation: every new token recomputes the whole sequence in one graph of static length
 * Smax = longest prompt + maxNewTokens (prompt left-padded, generated tokens appended, key mask on the
 * padding) and reads the logits at the current column. Slow by design; the cached Generator must match it.
 */
export class ReferenceGenerator extends BaseGenerator {
  protected async runBatch(prompts: readonly EncodedSample[], opts: GenerateOptions): Promise<GenerateResult> {
    if (prompts.length === 0) return { ids: [], steps: 0, ...(opts.recordLogits ? { logits: [] } : {}) };
    const { model } = this;
    const Sp = checkRequest(model.dims, prompts, opts);
    const Smax = Sp + opts.maxNewTokens;
    const prompt: ModelBatch = model.batch(prompts, { padSide: 'left', padTo: Sp });
    const { B, image } = prompt.shape;
    const graph = await this.session(`full:${B}x${Smax}${image ? 'i' : 't'}`, () => this.buildFull(B, Smax, image));

    const i64 = (n: number) => new BigInt64Array(n);
    const f32 = (n: number) => new Float32Array(n);
    const ids = widen(prompt.feeds.ids as BigInt64Array, B, Sp, Smax, i64);
    const positions = widen(prompt.feeds.positions as BigInt64Array, B, Sp, Smax, i64);
    const keyMask = widen(prompt.feeds.key_mask as Float32Array, B, Sp, Smax, f32);
    const readAt = new BigInt64Array(1);
    const feeds: Feeds = { ...model.params.feeds(), ids, positions, key_mask: keyMask, read_at: readAt };
    if (image) {
      feeds.images = prompt.feeds.images;
      feeds.image_index = widen(prompt.feeds.image_index as BigInt64Array, B, Sp, Smax, i64);
      feeds.image_slot = widen(prompt.feeds.image_slot as Float32Array, B, Sp, Smax, f32);
    }
    const rows = new Rows(B, opts);
    const logits: Float32Array[] = [];
    let steps = 0;
    for (let t = 0; ; t++) {
      if (t > 0) {
        // Append the previous token at column Sp + t − 1.
        const col = Sp + t - 1;
        for (let b = 0; b < B; b++) {
          ids[b * Smax + col] = BigInt(rows.ids[b][t - 1] ?? opts.eosId ?? SPECIAL_IDS.eos);
          positions[b * Smax + col] = BigInt(prompt.lengths[b] + t - 1);
          keyMask[b * Smax + col] = 1;
        }
      }
      readAt[0] = BigInt(Sp + t - 1);
      const out = await graph.run(feeds, opts.recordLogits ? ['next', 'logits'] : ['next']);
      steps++;
      if (opts.recordLogits) logits.push((out.logits.data as Float32Array).slice());
      if (rows.take(out.next.data as BigInt64Array) || t + 1 >= opts.maxNewTokens) break;
    }
    return { ids: rows.ids, steps, ...(opts.recordLogits ? { logits } : {}) };
  }

  private async buildFull(B: number, Smax: number, image: boolean): Promise<CompiledGraph> {
    const { model } = this;
    const g = new Graph();
    const P = bindParams(g, model.params);
    const x = model.declareInputs(g, { B, S: Smax, image, keyMask: true });
    const readAt = g.input('read_at', [1], 'int64');
    const last = model.dims.layers - 1;
    const { hidden } = model.forward(g, P, x, { hiddenLayers: [last] });
    const logits = model.head(P, hidden[last].gather(readAt, 1)).reshape([B, model.dims.vocabSize]);
    return this.compile(g, { next: logits.argmax(-1), logits });
  }
}
