/**
 * A Hugging Face decoder's config.json (LlamaForCausalLM, Qwen2ForCausalLM) read into the fields the graph
 * needs. Every key is either implemented, checked to have the one value we implement, or known metadata that
 * does not change the computation; any other key is refused with one line, so a checkpoint whose semantics
 * we do not implement (a rope_scaling type, sliding-window attention, dropout during training) never gives a
 * silently wrong answer.
 */
import { UserError } from '../../util/errors.ts';

export type HfArchitecture = 'LlamaForCausalLM' | 'Qwen2ForCausalLM';
export const HF_ARCHITECTURES: readonly HfArchitecture[] = ['LlamaForCausalLM', 'Qwen2ForCausalLM'];
const MODEL_TYPE: Record<HfArchitecture, string> = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2' };

/** The 'llama3' rope_scaling of Llama 3.1/3.2 (transformers' _compute_llama3_parameters). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface HfDecoderConfig {
  architecture: HfArchitecture;
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  maxPositions: number;
  rmsEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  /** Bias on q/k/v (Qwen2 always; Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama with attention_bias). */
  oBias: boolean;
  tied: boolean;
  /** Token ids named by config.json (may be absent). */
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
}

/** Keys that describe the file, the hub or generation defaults, not the forward computation. */
const METADATA = new Set([
  'architectures', 'model_type', '_name_or_path', 'transformers_version', 'torch_dtype', 'dtype', 'use_cache',
  'initializer_range', 'bos_token_id', 'eos_token_id', 'pad_token_id', 'output_attentions', 'output_hidden_states',
  'return_dict', 'max_window_layers', 'sliding_window', 'layer_types', 'clearbench',
]);
/** Keys read below. */
const READ = new Set([
  'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
  'head_dim', 'hidden_act', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta', 'rope_scaling', 'rope_parameters',
  'attention_bias', 'attention_dropout', 'mlp_bias', 'pretraining_tp', 'tie_word_embeddings', 'use_sliding_window',
]);

/**
 * Parse config.json's object. `source` names the file in errors.
 * @throws UserError for an architecture, key or value this clearbench does not implement.
 */
export function parseHfConfig(raw: unknown, source: string): HfDecoderConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${source} is not a JSON object`);
  const c = raw as Record<string, unknown>;
  const archs = c.architectures;
  const arch = Array.isArray(archs) && archs.length === 1 ? archs[0] : undefined;
  if (!HF_ARCHITECTURES.includes(arch as HfArchitecture)) {
    throw new UserError(`${source}: architectures ${JSON.stringify(archs)} is not supported (this clearbench implements ${HF_ARCHITECTURES.join(', ')})`);
  }
  const architecture = arch as HfArchitecture;
  if (c.model_type !== undefined && c.model_type !== MODEL_TYPE[architecture]) {
    throw new UserError(`${source}: model_type ${JSON.stringify(c.model_type)} does not match ${architecture} (expected "${MODEL_TYPE[architecture]}")`);
  }
  for (const key of Object.keys(c)) {
    if (!METADATA.has(key) && !READ.has(key)) throw new UserError(`${source}: config key "${key}" is not supported by clearbench's ${architecture} (it may change the computation)`);
  }
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UserError(`${source}: ${key} must be a positive integer, got ${JSON.stringify(c[key])}`);
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new UserError(`${source}: ${key} must be a positive number, got ${JSON.stringify(c[key])}`);
    return v;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'boolean') throw new UserError(`${source}: ${key} must be true or false, got ${JSON.stringify(c[key])}`);
    return v;
  };
  const only = (key: string, allowed: unknown, what: string): void => {
    if (c[key] !== undefined && c[key] !== null && c[key] !== allowed) throw new UserError(`${source}: ${key} = ${JSON.stringify(c[key])} is not supported (${what})`);
  };

  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw new UserError(`${source}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (c.head_dim === undefined && hidden % heads !== 0) throw new UserError(`${source}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}; give head_dim`);
  const headDim = c.head_dim === undefined || c.head_dim === null ? hidden / heads : int('head_dim');
  if (headDim % 2 !== 0) throw new UserError(`${source}: head_dim ${headDim} must be even for rotary embeddings`);
  only('hidden_act', 'silu', 'only the SwiGLU MLP with silu is implemented');
  if (c.attention_dropout !== undefined && c.attention_dropout !== 0 && c.attention_dropout !== 0.0) only('attention_dropout', 0, 'attention dropout is not implemented; set it to 0.0');
  only('pretraining_tp', 1, 'pretraining_tp > 1 is not implemented');
  if (flag('mlp_bias', false)) throw new UserError(`${source}: mlp_bias = true is not supported (MLP biases are not implemented)`);
  if (flag('use_sliding_window', false)) throw new UserError(`${source}: use_sliding_window = true is not supported (sliding-window attention is not implemented)`);
  if (c.rope_parameters !== undefined) throw new UserError(`${source}: rope_parameters is not supported (write rope_theta and rope_scaling as transformers 4.x does)`);
  const attentionBias = flag('attention_bias', false);
  if (architecture === 'Qwen2ForCausalLM' && c.attention_bias !== undefined) throw new UserError(`${source}: attention_bias is not a Qwen2 key (Qwen2 always has q/k/v biases)`);

  const eos = c.eos_token_id;
  return {
    architecture,
    vocabSize: int('vocab_size'),
    hidden,
    intermediate: int('intermediate_size'),
    layers: int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    maxPositions: int('max_position_embeddings'),
    rmsEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: parseRopeScaling(c.rope_scaling, source),
    qkvBias: architecture === 'Qwen2ForCausalLM' || attentionBias,
    oBias: architecture === 'LlamaForCausalLM' && attentionBias,
    // LlamaConfig and Qwen2Config both default to separate embeddings.
    tied: flag('tie_word_embeddings', false),
    ...(typeof c.bos_token_id === 'number' ? { bosTokenId: c.bos_token_id } : {}),
    ...(typeof eos === 'number' || (Array.isArray(eos) && eos.every((e) => typeof e === 'number')) ? { eosTokenId: eos as number | number[] } : {}),
    ...(typeof c.pad_token_id === 'number' ? { padTokenId: c.pad_token_id } : {}),
  };
}

function parseRopeScaling(v: unknown, source: string): Llama3RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${source}: rope_scaling must be an object or null`);
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (type !== 'llama3') throw new UserError(`${source}: rope_scaling type ${JSON.stringify(type)} is not supported (only "llama3" and "default")`);
  for (const key of Object.keys(r)) {
    if (!['rope_type', 'type', 'factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'].includes(key)) {
      throw new UserError(`${source}: rope_scaling key "${key}" is not supported for the llama3 type`);
    }
  }
  const pos = (key: string): number => {
    const x = r[key];
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw new UserError(`${source}: rope_scaling.${key} must be a positive number, got ${JSON.stringify(x)}`);
    return x;
  };
  const s = { factor: pos('factor'), lowFreqFactor: pos('low_freq_factor'), highFreqFactor: pos('high_freq_factor'), originalMaxPositions: pos('original_max_position_embeddings') };
  if (s.highFreqFactor <= s.lowFreqFactor) throw new UserError(`${source}: rope_scaling.high_freq_factor must exceed low_freq_factor`);
  return s;
}

/**
 * The rotary inverse frequencies θ^(−2i/d), i < d/2, with the llama3 scaling applied (transformers'
 * _compute_default_rope_parameters / _compute_llama3_parameters, in float64 here).
 */
export function ropeInvFreq(c: HfDecoderConfig): Float64Array {
  const d = c.headDim;
  const inv = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / d);
  const s = c.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    const scaled = wavelen > lowWavelen ? inv[i] / s.factor : inv[i];
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    inv[i] = medium ? ((1 - smooth) * scaled) / s.factor + smooth * scaled : scaled;
  }
  return inv;
}
