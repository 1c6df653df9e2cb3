/**
 * A GPT-style causal language model (learned positions, pre-norm blocks, final norm, LM head) built with
 * the engine. The vision–language model reuses it with image embeddings as a prefix.
 */
import { type Graph, Tensor } from '../engine/graph.ts';
import { type ParamStore } from '../engine/params.ts';
import { Rng } from '../util/rng.ts';
import { type BlockConfig, type KV, type Norm, type ParamLookup, applyNorm, block, blockStep, causalMaskValues, initBlock, initNorm, normalInit } from './transformer.ts';

export interface CausalLMConfig {
  vocabSize: number;
  dModel: number;
  layers: number;
  heads: number;
  /** MLP hidden size as a multiple of dModel. */
  mlpRatio: number;
  /** Longest sequence (positions), prefix included. */
  maxSeq: number;
  norm: Norm;
}

export function blockConfig(c: CausalLMConfig): BlockConfig {
  return { dModel: c.dModel, heads: c.heads, mlpHidden: c.mlpRatio * c.dModel, norm: c.norm };
}

export function initCausalLM(store: ParamStore, c: CausalLMConfig, seed: number, prefix = 'lm'): void {
  if (c.dModel % c.heads !== 0) throw new Error(`dModel ${c.dModel} is not divisible by heads ${c.heads}`);
  const rng = Rng.derive(seed, prefix);
  store.add(`${prefix}.tok_emb`, [c.vocabSize, c.dModel], normalInit(rng, c.vocabSize * c.dModel, 0.02));
  store.add(`${prefix}.pos_emb`, [c.maxSeq, c.dModel], normalInit(rng, c.maxSeq * c.dModel, 0.01));
  const residualStd = 0.02 / Math.sqrt(2 * c.layers);
  for (let l = 0; l < c.layers; l++) initBlock(store, `${prefix}.blocks.${l}`, blockConfig(c), rng, residualStd);
  initNorm(store, `${prefix}.norm_f`, c.dModel, c.norm);
  store.add(`${prefix}.head.weight`, [c.dModel, c.vocabSize], normalInit(rng, c.dModel * c.vocabSize, 0.02));
}

export interface LMOutputs {
  logits: Tensor;
  /** hidden[l] = residual stream after block l (0-based), for the layers asked for. */
  hidden: Record<number, Tensor>;
}

export interface LMForwardOptions {
  /** Input embeddings [B, S, D] instead of token ids (the VLM passes text with image tokens placed). */
  embeddings?: Tensor;
  /** Position ids [B, S] (int64); default 0..S−1 for every row. */
  positions?: Tensor;
  /** Additive mask broadcastable to [B, H, S, S], added to the causal mask (e.g. key padding). */
  attnMask?: Tensor;
  hiddenLayers?: number[];
  /** Receives each layer's keys and values. */
  kvOut?: KV[];
  name?: string;
}

/** Forward pass of the decoder on token ids [B, S] (int64) or on embeddings. */
export function causalLMForward(g: Graph, P: ParamLookup, c: CausalLMConfig, ids: Tensor | null, opts: LMForwardOptions = {}): LMOutputs {
  const name = opts.name ?? 'lm';
  let x = opts.embeddings ?? P(`${name}.tok_emb`).gather(ids!);
  const S = x.shape[1];
  if (S > c.maxSeq) throw new Error(`sequence of ${S} positions exceeds maxSeq ${c.maxSeq}`);
  const pos = P(`${name}.pos_emb`);
  x = x.add(opts.positions ? pos.gather(opts.positions) : pos.slice([0], [S], [0]));
  let mask = g.constant(causalMaskValues(S), [S, S]);
  if (opts.attnMask) mask = mask.add(opts.attnMask);
  const hidden: Record<number, Tensor> = {};
  const want = new Set(opts.hiddenLayers ?? []);
  for (let l = 0; l < c.layers; l++) {
    x = block(x, P, `${name}.blocks.${l}`, blockConfig(c), mask, opts.kvOut);
    if (want.has(l)) hidden[l] = x;
  }
  const logits = applyNorm(x, P, `${name}.norm_f`, c.norm).linear(P(`${name}.head.weight`));
  return { logits, hidden };
}

/** Final norm and LM head on hidden states [..., D] → logits [..., V] (what causalLMForward ends with). */
export function lmHead(x: Tensor, P: ParamLookup, c: CausalLMConfig, name = 'lm'): Tensor {
  return applyNorm(x, P, `${name}.norm_f`, c.norm).linear(P(`${name}.head.weight`));
}

export interface LMStepOptions {
  /** Input embeddings [B, D] instead of token ids. */
  embeddings?: Tensor;
  /** Position id of each row's new token [B] (int64). */
  positions: Tensor;
  /** Per layer, the key/value caches [B, H, Smax, dh] before this step. */
  cache: KV[];
  /** int64 [B, H, 3]: ScatterND indices (b, h, column) of the cache rows this step writes (see cachedSelfAttention). */
  writeAt: Tensor;
  /** Additive [B, 1, 1, Smax]: 0 on the columns the new token attends to (itself included), −1e9 elsewhere. */
  attnMask: Tensor;
  name?: string;
}

/**
 * One decode step of the decoder: a single new token per row, ids [B] (int64), attends over the cached keys
 * and values of the earlier tokens. Returns its logits [B, V] and the caches with its k/v written.
 */
export function causalLMStep(P: ParamLookup, c: CausalLMConfig, ids: Tensor | null, opts: LMStepOptions): { logits: Tensor; cache: KV[] } {
  const name = opts.name ?? 'lm';
  if (opts.cache.length !== c.layers) throw new Error(`causalLMStep: ${opts.cache.length} caches for ${c.layers} layers`);
  let x = opts.embeddings ?? P(`${name}.tok_emb`).gather(ids!);
  x = x.add(P(`${name}.pos_emb`).gather(opts.positions));
  const cache: KV[] = [];
  for (let l = 0; l < c.layers; l++) {
    const r = blockStep(x, P, `${name}.blocks.${l}`, blockConfig(c), opts.cache[l], opts.writeAt, opts.attnMask);
    x = r.x;
    cache.push(r.cache);
  }
  return { logits: lmHead(x, P, c, name), cache };
}
