/**
 * The forward graph of LlamaForCausalLM and Qwen2ForCausalLM, after transformers' modeling_llama.py and
 * modeling_qwen2.py: token embedding; per layer x += o_proj(attn(rope(q), rope(k), v)) on RMSNorm(x) with
 * grouped-query attention (num_key_value_heads), then x += down_proj(silu(gate_proj(h))·up_proj(h)) on
 * RMSNorm(x); final RMSNorm; lm_head (or the embedding, tied). Rotary embeddings use the rotate_half
 * convention: the first and second halves of each head are the two coordinates of each rotated pair.
 *
 * Parameters keep their Hugging Face names. Projections are stored [in, out] (weights.ts transposes the
 * hub's [out, in]) so that transformer.ts's linear() — and with it LoRA — applies; the embedding and
 * lm_head stay [V, D] and the head multiplies by their transpose.
 */
import { type Graph, Tensor } from '../../engine/graph.ts';
import { type ParamLookup } from '../../engine/params.ts';
import { type KV, causalMaskValues, linear } from '../transformer.ts';
import { type HfDecoderConfig, ropeInvFreq } from './config.ts';

export const EMBED = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm.weight';
export const LM_HEAD = 'lm_head.weight';
export const layerPrefix = (l: number) => `model.layers.${l}`;

/** The longest sequence the graphs take (rotary tables are built for it). */
export function maxSeqOf(c: HfDecoderConfig): number {
  return Math.min(c.maxPositions, 4096);
}

/** Each graph's rotary tables, so that several forwards in one graph (a frozen reference) share them. */
const ROPE_TABLES = new WeakMap<Graph, Map<string, { cos: Tensor; sin: Tensor }>>();

/** cos and sin of every (position, frequency) angle [maxSeq, headDim/2], float32 as transformers computes them. */
function ropeTables(g: Graph, c: HfDecoderConfig): { cos: Tensor; sin: Tensor } {
  const key = `hf-rope:${c.headDim}:${c.ropeTheta}:${JSON.stringify(c.ropeScaling)}`;
  let cached = ROPE_TABLES.get(g);
  if (!cached) ROPE_TABLES.set(g, (cached = new Map()));
  const hit = cached.get(key);
  if (hit) return hit;
  const inv = ropeInvFreq(c).map(Math.fround);
  const n = maxSeqOf(c);
  const half = inv.length;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * inv[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  const t = { cos: g.constant(cos, [n, half]), sin: g.constant(sin, [n, half]) };
  cached.set(key, t);
  return t;
}

/** x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁]; cos/sin broadcast against x's halves. */
function applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const half = x.shape[x.rank - 1] / 2;
  const [x1, x2] = x.split([half, half], -1);
  return Tensor.concat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], -1);
}

function mlp(h: Tensor, P: ParamLookup, prefix: string): Tensor {
  const gate = linear(h, P, `${prefix}.gate_proj`, false);
  const up = linear(h, P, `${prefix}.up_proj`, false);
  return linear(gate.mul(gate.sigmoid()).mul(up), P, `${prefix}.down_proj`, false);
}

export interface DecoderInputs {
  ids: Tensor;
  /** Input embeddings [B, S, D] in place of the ids' (LLaVA's, with the image features placed). */
  embeddings?: Tensor;
  positions: Tensor;
  keyMask?: Tensor;
}

export interface DecoderOutputs {
  logits: Tensor;
  hidden: Record<number, Tensor>;
  kv: KV[];
}

/** Forward pass on ids [B, S] with positions [B, S] (and a key mask [B, S] when rows are left-padded). */
export function decoderForward(g: Graph, P: ParamLookup, c: HfDecoderConfig, x: DecoderInputs, hiddenLayers: readonly number[] = []): DecoderOutputs {
  const [B, S] = x.ids.shape;
  if (S > maxSeqOf(c)) throw new Error(`sequence of ${S} positions exceeds the model's ${maxSeqOf(c)}`);
  const { heads: H, kvHeads: KVH, headDim: dh } = c;
  const rep = H / KVH;
  const tables = ropeTables(g, c);
  const cos = tables.cos.gather(x.positions).unsqueeze(1); // [B, 1, S, dh/2]
  const sin = tables.sin.gather(x.positions).unsqueeze(1);
  let mask = g.constant(causalMaskValues(S), [S, S]);
  if (x.keyMask) mask = mask.add(x.keyMask.sub(1).mul(1e9).unsqueeze([1, 2]));
  let h = x.embeddings ?? P(EMBED).gather(x.ids);
  const hidden: Record<number, Tensor> = {};
  const want = new Set(hiddenLayers);
  const kv: KV[] = [];
  for (let l = 0; l < c.layers; l++) {
    const p = layerPrefix(l);
    const a = h.rmsNorm(P(`${p}.input_layernorm.weight`), c.rmsEps);
    const heads = (name: string, n: number, bias: boolean) => linear(a, P, `${p}.self_attn.${name}`, bias).reshape([B, S, n, dh]).transpose([0, 2, 1, 3]);
    const q = applyRope(heads('q_proj', H, c.qkvBias), cos, sin);
    const k = applyRope(heads('k_proj', KVH, c.qkvBias), cos, sin);
    const v = heads('v_proj', KVH, c.qkvBias);
    kv.push({ k, v });
    // Query head h reads key/value head ⌊h/rep⌋ (repeat_kv): the rep query heads of a group are adjacent, so
    // [B, H, S, dh] reshapes to [B, KVH, rep·S, dh] and one product per group serves them all.
    const scores = q.reshape([B, KVH, rep * S, dh]).matmul(k, { transB: true, alpha: 1 / Math.sqrt(dh) }).reshape([B, H, S, S]).add(mask);
    const ctx = scores.softmax(-1).reshape([B, KVH, rep * S, S]).matmul(v).reshape([B, H, S, dh]).transpose([0, 2, 1, 3]).reshape([B, S, H * dh]);
    h = h.add(linear(ctx, P, `${p}.self_attn.o_proj`, c.oBias));
    h = h.add(mlp(h.rmsNorm(P(`${p}.post_attention_layernorm.weight`), c.rmsEps), P, `${p}.mlp`));
    if (want.has(l)) hidden[l] = h;
  }
  return { logits: decoderHead(P, c, h), hidden, kv };
}

/** Final RMSNorm and the LM head on hidden states [..., D] → logits [..., V]. */
export function decoderHead(P: ParamLookup, c: HfDecoderConfig, h: Tensor): Tensor {
  const n = h.rmsNorm(P(FINAL_NORM), c.rmsEps);
  const lead = n.shape.slice(0, -1);
  const rows = lead.reduce((a, b) => a * b, 1);
  const flat = n.rank === 2 ? n : n.reshape([rows, c.hidden]);
  const logits = flat.gemm(P(c.tied ? EMBED : LM_HEAD), null, { transB: true });
  return n.rank === 2 ? logits : logits.reshape([...lead, c.vocabSize]);
}

export interface DecoderStepInputs {
  ids: Tensor;
  positions: Tensor;
  cache: KV[];
  writeAt: Tensor;
  attnMask: Tensor;
}

/**
 * One decode step (one new token per row, ids/positions [B]) against key/value caches [B, KVH, Smax, dh]:
 * the same arithmetic as decoderForward on the new row.
 */
export function decoderStep(P: ParamLookup, c: HfDecoderConfig, x: DecoderStepInputs): { logits: Tensor; cache: KV[] } {
  const [B] = x.ids.shape;
  const { heads: H, kvHeads: KVH, headDim: dh } = c;
  const rep = H / KVH;
  const g = x.ids.graph;
  const tables = ropeTables(g, c);
  const cos = tables.cos.gather(x.positions).unsqueeze(1); // [B, 1, dh/2]
  const sin = tables.sin.gather(x.positions).unsqueeze(1);
  let h = P(EMBED).gather(x.ids);
  const cache: KV[] = [];
  for (let l = 0; l < c.layers; l++) {
    const p = layerPrefix(l);
    const a = h.rmsNorm(P(`${p}.input_layernorm.weight`), c.rmsEps);
    const proj = (name: string, n: number) => linear(a, P, `${p}.self_attn.${name}`, c.qkvBias).reshape([B, n, dh]);
    const q = applyRope(proj('q_proj', H), cos, sin);
    const kNew = applyRope(proj('k_proj', KVH), cos, sin);
    const vNew = proj('v_proj', KVH);
    const scatter = (t: Tensor, row: Tensor) => g.op1('ScatterND', [t, x.writeAt, row], {}, t.shape, t.dtype);
    const k = scatter(x.cache[l].k, kNew);
    const v = scatter(x.cache[l].v, vNew);
    cache.push({ k, v });
    const scores = q.reshape([B, KVH, rep, dh]).matmul(k, { transB: true, alpha: 1 / Math.sqrt(dh) }).add(x.attnMask);
    const ctx = scores.softmax(-1).matmul(v).reshape([B, H * dh]);
    h = h.add(linear(ctx, P, `${p}.self_attn.o_proj`, c.oBias));
    h = h.add(mlp(h.rmsNorm(P(`${p}.post_attention_layernorm.weight`), c.rmsEps), P, `${p}.mlp`));
  }
  return { logits: decoderHead(P, c, h), cache };
}

/** Every parameter's name and shape as decoderForward reads it (projections [in, out]). */
export function decoderParamShapes(c: HfDecoderConfig): { name: string; shape: number[] }[] {
  const D = c.hidden;
  const out: { name: string; shape: number[] }[] = [{ name: EMBED, shape: [c.vocabSize, D] }];
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  for (let l = 0; l < c.layers; l++) {
    const p = layerPrefix(l);
    out.push({ name: `${p}.input_layernorm.weight`, shape: [D] });
    for (const [n, o] of [['q_proj', q], ['k_proj', kv], ['v_proj', kv]] as const) {
      out.push({ name: `${p}.self_attn.${n}.weight`, shape: [D, o] });
      if (c.qkvBias) out.push({ name: `${p}.self_attn.${n}.bias`, shape: [o] });
    }
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [q, D] });
    if (c.oBias) out.push({ name: `${p}.self_attn.o_proj.bias`, shape: [D] });
    out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [D] });
    out.push({ name: `${p}.mlp.gate_proj.weight`, shape: [D, c.intermediate] });
    out.push({ name: `${p}.mlp.up_proj.weight`, shape: [D, c.intermediate] });
    out.push({ name: `${p}.mlp.down_proj.weight`, shape: [c.intermediate, D] });
  }
  out.push({ name: FINAL_NORM, shape: [D] });
  if (!c.tied) out.push({ name: LM_HEAD, shape: [c.vocabSize, D] });
  return out;
}

/** The projections (LoRA-able linear layers), by prefix. */
export function decoderLinearPrefixes(c: HfDecoderConfig): string[] {
  const out: string[] = [];
  for (let l = 0; l < c.layers; l++) {
    const p = layerPrefix(l);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) out.push(`${p}.self_attn.${n}`);
    for (const n of ['gate_proj', 'up_proj', 'down_proj']) out.push(`${p}.mlp.${n}`);
  }
  return out;
}

/** Whether a hub tensor is a projection stored [out, in] (transposed on load and save). */
export function isProjection(name: string): boolean {
  return /_proj\.weight$/.test(name);
}
