/**
 * Pre-norm transformer building blocks shared by the language decoder and the ViT image encoder:
 * multi-head self-attention (optionally causal), a GELU MLP, and their parameter initialisation.
 */
import { Tensor } from '../engine/graph.ts';
import { type ParamLookup, type ParamStore } from '../engine/params.ts';

export type { ParamLookup };
import { type Rng } from '../util/rng.ts';

export type Norm = 'layernorm' | 'rmsnorm';

export interface BlockConfig {
  dModel: number;
  heads: number;
  mlpHidden: number;
  norm: Norm;
  /** GELU form: exact erf (default) or the tanh approximation. */
  geluApprox?: boolean;
}


/** Keys and values of one attention layer, [B, H, S, dh] each. */
export interface KV {
  k: Tensor;
  v: Tensor;
}

/** N(0, std) initialisation, GPT-2 style (std 0.02; residual projections scaled by 1/√(2·layers)). */
export function normalInit(rng: Rng, n: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

export function initNorm(store: ParamStore, prefix: string, d: number, norm: Norm): void {
  store.add(`${prefix}.weight`, [d], new Float32Array(d).fill(1));
  if (norm === 'layernorm') store.add(`${prefix}.bias`, [d]);
}

export function initLinear(store: ParamStore, prefix: string, din: number, dout: number, rng: Rng, std = 0.02, bias = true): void {
  store.add(`${prefix}.weight`, [din, dout], normalInit(rng, din * dout, std));
  if (bias) store.add(`${prefix}.bias`, [dout]);
}

export function initBlock(store: ParamStore, prefix: string, cfg: BlockConfig, rng: Rng, residualStd: number): void {
  const d = cfg.dModel;
  initNorm(store, `${prefix}.norm1`, d, cfg.norm);
  initLinear(store, `${prefix}.attn.qkv`, d, 3 * d, rng);
  initLinear(store, `${prefix}.attn.out`, d, d, rng, residualStd);
  initNorm(store, `${prefix}.norm2`, d, cfg.norm);
  initLinear(store, `${prefix}.mlp.fc1`, d, cfg.mlpHidden, rng);
  initLinear(store, `${prefix}.mlp.fc2`, cfg.mlpHidden, d, rng, residualStd);
}

export function applyNorm(x: Tensor, P: ParamLookup, prefix: string, norm: Norm): Tensor {
  return norm === 'layernorm' ? x.layerNorm(P(`${prefix}.weight`), P(`${prefix}.bias`)) : x.rmsNorm(P(`${prefix}.weight`));
}

/**
 * alpha·x·W + beta·b for the layer's parameters (alpha = beta = 1 unless given: mlp() folds GELU's
 * constants into them).
 */
export function linear(x: Tensor, P: ParamLookup, prefix: string, bias = true, scale: { alpha?: number; beta?: number } = {}): Tensor {
  const y = x.linear(P(`${prefix}.weight`), bias ? P(`${prefix}.bias`) : null, scale);
  // A LoRA adapter (lora.ts) on this layer adds alpha·scale·(x·A)·B; scaling the rank-r product is the cheapest place.
  if (!P.has(`${prefix}.lora_A`)) return y;
  const low = x.linear(P(`${prefix}.lora_A`)).mul(P(`${prefix}.lora_scale`));
  return y.add((scale.alpha === undefined ? low : low.mul(scale.alpha)).linear(P(`${prefix}.lora_B`)));
}

/**
 * fc2(GELU(fc1(x))) for the layers `<prefix>.fc1` and `<prefix>.fc2`. Exact GELU(a) = (u/√2)·(1 + erf(u))
 * with u = a/√2, so fc1's GEMM outputs u (alpha = beta = √½), fc2's GEMM takes the other 1/√2 (alpha = √½)
 * and only u·(1 + erf(u)) is elementwise (Tensor.erfGate): three fewer passes over the widest activation
 * per block. The tanh approximation is applied as written.
 */
export function mlp(x: Tensor, P: ParamLookup, prefix: string, geluApprox = false): Tensor {
  if (geluApprox) return linear(linear(x, P, `${prefix}.fc1`).gelu(true), P, `${prefix}.fc2`);
  const u = linear(x, P, `${prefix}.fc1`, true, { alpha: Math.SQRT1_2, beta: Math.SQRT1_2 });
  return linear(u.erfGate(), P, `${prefix}.fc2`, true, { alpha: Math.SQRT1_2 });
}

/**
 * Multi-head self-attention on x [B, T, D]. `mask` is additive, broadcastable to [B, H, T, T]
 * (0 where attending is allowed, a large negative number elsewhere), or null for full attention.
 */
export function selfAttention(x: Tensor, P: ParamLookup, prefix: string, heads: number, mask: Tensor | null, kvOut?: KV[]): Tensor {
  const [B, T, D] = x.shape;
  const dh = D / heads;
  const qkv = linear(x, P, `${prefix}.qkv`).reshape([B, T, 3, heads, dh]).transpose([2, 0, 3, 1, 4]);
  const [q, k, v] = qkv.split([1, 1, 1], 0).map((t) => t.squeeze(0));
  kvOut?.push({ k, v });
  // q·kᵀ/√dh as one product: k is read transposed and the scale rides on it (no pass of its own).
  let scores = q.matmul(k, { transB: true, alpha: 1 / Math.sqrt(dh) });
  if (mask) scores = scores.add(mask);
  const ctx = scores.softmax(-1).matmul(v).transpose([0, 2, 1, 3]).reshape([B, T, D]);
  return linear(ctx, P, `${prefix}.out`);
}

/** One pre-norm block: x + attn(norm(x)), then + mlp(norm(·)). */
export function block(x: Tensor, P: ParamLookup, prefix: string, cfg: BlockConfig, mask: Tensor | null, kvOut?: KV[]): Tensor {
  const h = x.add(selfAttention(applyNorm(x, P, `${prefix}.norm1`, cfg.norm), P, `${prefix}.attn`, cfg.heads, mask, kvOut));
  return h.add(mlp(applyNorm(h, P, `${prefix}.norm2`, cfg.norm), P, `${prefix}.mlp`, cfg.geluApprox));
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above. */
export function causalMaskValues(T: number): Float32Array {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return m;
}

/**
 * Self-attention of one new position per row against a key/value cache (generation's decode step).
 * x [B, D] (one position per row, kept 2-D so the linear layers need no reshapes); cache k, v
 * [B, H, Smax, dh]; `writeAt` int64 [B, H, 3]: the ScatterND indices (b, h, column) of the cache rows that
 * receive this position's k/v; `mask` additive [B, 1, 1, Smax] (0 on the columns to attend to: written
 * prompt tokens and generated tokens, this one included). Returns the output [B, D] and the updated cache.
 * The arithmetic is selfAttention's on the new row, so cached and full computations agree.
 */
export function cachedSelfAttention(x: Tensor, P: ParamLookup, prefix: string, heads: number, cache: KV, writeAt: Tensor, mask: Tensor): { out: Tensor; cache: KV } {
  if (x.rank !== 2) throw new Error(`cachedSelfAttention: expected one position per row [B, D], got [${x.shape}]`);
  const [B, D] = x.shape;
  const dh = D / heads;
  // The qkv row is laid out (3, H, dh): each third reshapes straight to heads, no transposes.
  const [q, kNew, vNew] = linear(x, P, `${prefix}.qkv`).split([D, D, D], -1);
  // Static shapes: ScatterND copies the cache and writes the new [B, H, dh] rows into their column.
  const scatter = (c: Tensor, row: Tensor) => x.graph.op1('ScatterND', [c, writeAt, row.reshape([B, heads, dh])], {}, c.shape, c.dtype);
  const k = scatter(cache.k, kNew);
  const v = scatter(cache.v, vNew);
  const scores = q.reshape([B, heads, 1, dh]).matmul(k, { transB: true, alpha: 1 / Math.sqrt(dh) }).add(mask);
  const ctx = scores.softmax(-1).matmul(v).reshape([B, D]);
  return { out: linear(ctx, P, `${prefix}.out`), cache: { k, v } };
}

/** block() for one new position per row (x [B, D]), attending over (and updating) a key/value cache. */
export function blockStep(x: Tensor, P: ParamLookup, prefix: string, cfg: BlockConfig, cache: KV, writeAt: Tensor, mask: Tensor): { x: Tensor; cache: KV } {
  const attn = cachedSelfAttention(applyNorm(x, P, `${prefix}.norm1`, cfg.norm), P, `${prefix}.attn`, cfg.heads, cache, writeAt, mask);
  const h = x.add(attn.out);
  return { x: h.add(mlp(applyNorm(h, P, `${prefix}.norm2`, cfg.norm), P, `${prefix}.mlp`, cfg.geluApprox)), cache: attn.cache };
}
