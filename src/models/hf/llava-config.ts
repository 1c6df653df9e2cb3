/**
 * A LlavaForConditionalGeneration config.json (transformers' LlavaConfig: nested text_config and
 * vision_config) read into what the graph needs. Supported: a CLIP vision tower (vision_config model_type
 * clip_vision_model, hidden_act quick_gelu / gelu / gelu_pytorch_tanh), vision_feature_layer as one integer
 * (negative counts from the end of hidden_states, whose entry 0 is the embeddings after pre_layrnorm),
 * vision_feature_select_strategy default (drop the class token) or full, the two-layer projector with
 * projector_hidden_act gelu / quick_gelu / gelu_pytorch_tanh and multimodal_projector_bias, and a Llama (or
 * Qwen2) decoder read by parseHfConfig. Keys are filled with transformers' defaults where a config leaves
 * them out (LlavaConfig writes only what differs); any key or value whose semantics we do not implement is
 * refused with one line.
 */
import { UserError } from '../../util/errors.ts';
import { type HfDecoderConfig, parseHfConfig } from './config.ts';

export type Activation = 'gelu' | 'quick_gelu' | 'gelu_tanh';
const ACTIVATIONS: Record<string, Activation> = { gelu: 'gelu', quick_gelu: 'quick_gelu', gelu_pytorch_tanh: 'gelu_tanh', gelu_new: 'gelu_tanh' };

export interface ClipVisionConfig {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  imageSize: number;
  patch: number;
  act: Activation;
  eps: number;
}

export interface LlavaConfig {
  text: HfDecoderConfig;
  vision: ClipVisionConfig;
  imageTokenId: number;
  /** Index into CLIP's hidden_states (0 = embeddings after pre_layrnorm, l = after layer l − 1), made non-negative. */
  featureLayer: number;
  /** 'default' drops the class token, 'full' keeps it. */
  selectStrategy: 'default' | 'full';
  projectorAct: Activation;
  projectorBias: boolean;
  /** Image tokens each `<image>` expands to (what the processor computes). */
  imageTokens: number;
}

/** Keys of any transformers config that describe generation, tokenizers or the hub, not the forward pass. */
const GENERIC = new Set([
  '_name_or_path', 'transformers_version', 'torch_dtype', 'dtype', 'use_cache', 'initializer_range', 'initializer_factor', 'return_dict',
  'output_hidden_states', 'output_attentions', 'torchscript', 'use_bfloat16', 'tf_legacy_loss', 'pruned_heads', 'chunk_size_feed_forward',
  'is_encoder_decoder', 'is_decoder', 'cross_attention_hidden_size', 'add_cross_attention', 'tie_encoder_decoder', 'max_length', 'min_length',
  'do_sample', 'early_stopping', 'num_beams', 'num_beam_groups', 'diversity_penalty', 'temperature', 'top_k', 'top_p', 'typical_p',
  'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size', 'encoder_no_repeat_ngram_size', 'bad_words_ids', 'num_return_sequences',
  'output_scores', 'return_dict_in_generate', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'finetuning_task', 'id2label', 'label2id',
  'tokenizer_class', 'prefix', 'bos_token_id', 'pad_token_id', 'eos_token_id', 'sep_token_id', 'decoder_start_token_id', 'task_specific_params',
  'problem_type', 'architectures', '_attn_implementation', '_attn_implementation_autoset', 'attn_implementation',
]);

/** LlamaConfig / Qwen2Config defaults for the keys a LLaVA text_config may leave out. */
const TEXT_DEFAULTS: Record<string, Record<string, unknown>> = {
  llama: { vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, max_position_embeddings: 2048, rms_norm_eps: 1e-6 },
  qwen2: { vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32, max_position_embeddings: 32768, rms_norm_eps: 1e-6 },
};
const TEXT_ARCH: Record<string, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' };

/** CLIPVisionConfig's defaults, and LlavaConfig's vision tower when vision_config is absent. */
const CLIP_DEFAULTS = { hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, image_size: 224, patch_size: 32, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 };
const LLAVA_VISION_DEFAULT = { model_type: 'clip_vision_model', hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16, image_size: 336, patch_size: 14, hidden_act: 'quick_gelu' };

const TOP_READ = new Set([
  'architectures', 'model_type', 'text_config', 'vision_config', 'image_token_index', 'image_token_id', 'vision_feature_layer',
  'vision_feature_select_strategy', 'projector_hidden_act', 'multimodal_projector_bias', 'image_seq_length', 'tie_word_embeddings',
  'vocab_size', 'ignore_index', 'clearbench',
]);
const VISION_READ = new Set([
  'model_type', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'image_size', 'patch_size', 'hidden_act',
  'layer_norm_eps', 'attention_dropout', 'dropout', 'num_channels', 'projection_dim', 'vocab_size',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function activation(v: unknown, key: string, source: string): Activation {
  const a = typeof v === 'string' ? ACTIVATIONS[v] : undefined;
  if (!a) throw new UserError(`${source}: ${key} = ${JSON.stringify(v)} is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  return a;
}

function posInt(v: unknown, key: string, source: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UserError(`${source}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Whether a parsed config.json is a LLaVA one. */
export function isLlavaConfig(json: unknown): boolean {
  return isObject(json) && Array.isArray(json.architectures) && json.architectures.length === 1 && json.architectures[0] === 'LlavaForConditionalGeneration';
}

function parseVision(raw: unknown, source: string): ClipVisionConfig {
  const src = `${source} vision_config`;
  if (raw !== undefined && raw !== null && !isObject(raw)) throw new UserError(`${src} must be an object`);
  const v: Record<string, unknown> = { ...CLIP_DEFAULTS, ...(raw ?? LLAVA_VISION_DEFAULT) };
  const type = v.model_type ?? 'clip_vision_model';
  if (type !== 'clip_vision_model') throw new UserError(`${src}: model_type ${JSON.stringify(type)} is not supported (only the CLIP vision tower, clip_vision_model)`);
  for (const key of Object.keys(v)) {
    if (!VISION_READ.has(key) && !GENERIC.has(key)) throw new UserError(`${src}: key "${key}" is not supported by clearbench's CLIP vision tower (it may change the computation)`);
  }
  for (const key of ['attention_dropout', 'dropout']) {
    if (v[key] !== undefined && v[key] !== 0) throw new UserError(`${src}: ${key} = ${JSON.stringify(v[key])} is not supported (dropout is not implemented; set it to 0.0)`);
  }
  if (v.num_channels !== undefined && v.num_channels !== 3) throw new UserError(`${src}: num_channels = ${JSON.stringify(v.num_channels)} is not supported (RGB images only)`);
  const hidden = posInt(v.hidden_size, 'hidden_size', src);
  const heads = posInt(v.num_attention_heads, 'num_attention_heads', src);
  if (hidden % heads !== 0) throw new UserError(`${src}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  const imageSize = posInt(v.image_size, 'image_size', src);
  const patch = posInt(v.patch_size, 'patch_size', src);
  if (imageSize % patch !== 0) throw new UserError(`${src}: image_size ${imageSize} is not a multiple of patch_size ${patch}`);
  const eps = v.layer_norm_eps;
  if (typeof eps !== 'number' || !(eps > 0)) throw new UserError(`${src}: layer_norm_eps must be a positive number, got ${JSON.stringify(eps)}`);
  return {
    hidden, heads, imageSize, patch, eps,
    intermediate: posInt(v.intermediate_size, 'intermediate_size', src),
    layers: posInt(v.num_hidden_layers, 'num_hidden_layers', src),
    act: activation(v.hidden_act, 'hidden_act', src),
  };
}

function parseText(raw: unknown, source: string): HfDecoderConfig {
  const src = `${source} text_config`;
  if (raw !== undefined && raw !== null && !isObject(raw)) throw new UserError(`${src} must be an object`);
  const t = raw ?? {};
  const type = (t.model_type ?? 'llama') as string;
  if (!TEXT_DEFAULTS[type]) throw new UserError(`${src}: model_type ${JSON.stringify(type)} is not supported (llama, qwen2)`);
  const archs = t.architectures;
  if (archs !== undefined && archs !== null && !(Array.isArray(archs) && archs.length === 1 && archs[0] === TEXT_ARCH[type])) {
    throw new UserError(`${src}: architectures ${JSON.stringify(archs)} does not match model_type ${type}`);
  }
  // Generic keys change nothing in the forward pass; parseHfConfig refuses anything else it does not implement.
  const kept = Object.fromEntries(Object.entries(t).filter(([k]) => !GENERIC.has(k) || k === 'torch_dtype'));
  return parseHfConfig({ ...TEXT_DEFAULTS[type], ...kept, architectures: [TEXT_ARCH[type]], model_type: type }, src);
}

/**
 * Parse a LLaVA config.json object. `source` names the file in errors.
 * @throws UserError for a key or value this clearbench does not implement.
 */
export function parseLlavaConfig(raw: unknown, source: string): LlavaConfig {
  if (!isLlavaConfig(raw)) throw new UserError(`${source}: architectures must be ["LlavaForConditionalGeneration"]`);
  const c = raw as Record<string, unknown>;
  if (c.model_type !== undefined && c.model_type !== 'llava') throw new UserError(`${source}: model_type ${JSON.stringify(c.model_type)} does not match LlavaForConditionalGeneration (expected "llava")`);
  for (const key of Object.keys(c)) {
    if (!TOP_READ.has(key) && !GENERIC.has(key)) throw new UserError(`${source}: config key "${key}" is not supported by clearbench's LlavaForConditionalGeneration (it may change the computation)`);
  }
  const textRaw = isObject(c.text_config) ? { ...c.text_config } : c.text_config;
  // Older configs put tie_word_embeddings at the top; the decoder's own value wins when both are given and agree.
  if (c.tie_word_embeddings !== undefined && isObject(textRaw)) {
    if (textRaw.tie_word_embeddings !== undefined && textRaw.tie_word_embeddings !== c.tie_word_embeddings) {
      throw new UserError(`${source}: tie_word_embeddings (${JSON.stringify(c.tie_word_embeddings)}) and text_config.tie_word_embeddings (${JSON.stringify(textRaw.tie_word_embeddings)}) disagree`);
    }
    textRaw.tie_word_embeddings = c.tie_word_embeddings;
  }
  const text = parseText(textRaw ?? (c.tie_word_embeddings !== undefined ? { tie_word_embeddings: c.tie_word_embeddings } : undefined), source);
  const vision = parseVision(c.vision_config, source);
  if (c.vocab_size !== undefined && c.vocab_size !== text.vocabSize) throw new UserError(`${source}: vocab_size ${JSON.stringify(c.vocab_size)} differs from text_config's ${text.vocabSize}`);
  if (c.ignore_index !== undefined && c.ignore_index !== -100) throw new UserError(`${source}: ignore_index = ${JSON.stringify(c.ignore_index)} is not supported (labels use -100)`);

  const tokenKey = c.image_token_index !== undefined ? 'image_token_index' : 'image_token_id';
  const imageTokenId = c[tokenKey] ?? 32000;
  if (typeof imageTokenId !== 'number' || !Number.isInteger(imageTokenId) || imageTokenId < 0 || imageTokenId >= text.vocabSize) {
    throw new UserError(`${source}: ${tokenKey} must be a token id below vocab_size ${text.vocabSize}, got ${JSON.stringify(imageTokenId)}`);
  }
  const layerRaw = c.vision_feature_layer ?? -2;
  if (typeof layerRaw !== 'number' || !Number.isInteger(layerRaw)) {
    throw new UserError(`${source}: vision_feature_layer = ${JSON.stringify(layerRaw)} is not supported (one integer; lists of layers are not implemented)`);
  }
  // hidden_states holds layers + 1 entries (the embeddings, then each layer's output).
  const featureLayer = layerRaw < 0 ? vision.layers + 1 + layerRaw : layerRaw;
  if (featureLayer < 0 || featureLayer > vision.layers) throw new UserError(`${source}: vision_feature_layer ${layerRaw} is outside the vision tower's ${vision.layers + 1} hidden states`);
  const strategy = c.vision_feature_select_strategy ?? 'default';
  if (strategy !== 'default' && strategy !== 'full') throw new UserError(`${source}: vision_feature_select_strategy = ${JSON.stringify(strategy)} is not supported (default, full)`);
  const bias = c.multimodal_projector_bias ?? true;
  if (typeof bias !== 'boolean') throw new UserError(`${source}: multimodal_projector_bias must be true or false`);
  const patches = (vision.imageSize / vision.patch) ** 2;
  const imageTokens = strategy === 'default' ? patches : patches + 1;
  if (c.image_seq_length !== undefined && c.image_seq_length !== imageTokens) {
    throw new UserError(`${source}: image_seq_length ${JSON.stringify(c.image_seq_length)} differs from the ${imageTokens} image tokens the vision tower gives`);
  }
  return {
    text, vision, imageTokenId, featureLayer, selectStrategy: strategy, projectorAct: activation(c.projector_hidden_act ?? 'gelu', 'projector_hidden_act', source),
    projectorBias: bias, imageTokens,
  };
}
