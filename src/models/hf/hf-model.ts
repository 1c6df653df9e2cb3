/**
 * A Hugging Face causal LM directory (config.json, model.safetensors or shards + index, tokenizer.json,
 * tokenizer_config.json with a chat_template) behind the model seam (model.ts), so training, unlearning,
 * evaluation and the pipeline use it unchanged. Text only: image samples are refused. Saving writes the
 * same layout and names (LoRA merged, weights F32), with the training record under config.json's
 * "clearbench" key, so the directory loads wherever the original did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Graph, type Tensor } from '../../engine/graph.ts';
import { type ParamLookup, ParamStore } from '../../engine/params.ts';
import { type Feeds } from '../../engine/session.ts';
import { UserError } from '../../util/errors.ts';
import { IGNORE_LABEL } from '../../protocol/vocabulary.ts';
import { type BatchImage } from '../../data/images.ts';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import { serializeTokenizerJson } from '../tokenizer/index.ts';
import { type EncodedSample, type Sample, bucketLength } from '../batch.ts';
import { collate } from '../chat.ts';
import { writeCheckpointFiles } from '../checkpoint.ts';
import { hasLora, mergeLora } from '../lora.ts';
import {
  type BatchShape, type DecodeStepInputs, type ForwardOutputs, type ForwardWants, type JsonValue, type KV, type LoadedModel,
  type ModelBatch, type ModelDims, type ModelInputs, type ModelKind,
} from '../model.ts';
import { type HfDecoderConfig, parseHfConfig } from './config.ts';
import { ChatTemplate, readsTypedContent, tokenString } from './chat-template.ts';
import { type DecoderInputs, decoderForward, decoderHead, decoderLinearPrefixes, decoderParamShapes, decoderStep, isProjection, maxSeqOf, LM_HEAD } from './decoder.ts';
import { INDEX_FILE, SINGLE_FILE, hubWeightFiles, readHubWeights, transpose2d } from './weights.ts';

export const HF_KIND_ID = 'hf-causal-lm';
const CONFIG = 'config.json';
const TOKENIZER = 'tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer_config.json';
/** Files copied as they are when saving. */
const CARRIED = ['generation_config.json', 'special_tokens_map.json'];

/** Whether a parsed config.json is a Hugging Face one (it names architectures, not a clearbench format). */
export function isHfConfig(json: unknown): boolean {
  return !!json && typeof json === 'object' && !('format' in json) && Array.isArray((json as { architectures?: unknown }).architectures);
}

/** A JSON file of a checkpoint directory; unreadable or invalid is one line naming it. */
export function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); download the model's files`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message})`);
  }
}

/** The tokenizer, chat template and the ids the chat format uses. */
export interface HfTokenizerParts {
  tokenizer: Tokenizer;
  chat: ChatTemplate;
  /** Ids of the tokenizer's special added tokens. */
  specialIds: ReadonlySet<number>;
  tokenizerConfig: Record<string, unknown>;
}

/**
 * The chat template: tokenizer_config.json's, else the processor's chat_template.jinja or chat_template.json
 * (where vision–language checkpoints keep it). A vision–language model reads the processor's first, as its
 * processor's apply_chat_template does.
 */
function chatTemplateOf(dir: string, tc: Record<string, unknown>, processorFirst: boolean): unknown {
  const processor = (): unknown => {
    if (existsSync(join(dir, 'chat_template.jinja'))) return readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
    if (existsSync(join(dir, 'chat_template.json'))) return readJson(join(dir, 'chat_template.json')).chat_template;
    return undefined;
  };
  return processorFirst ? (processor() ?? tc.chat_template) : (tc.chat_template ?? processor());
}

/** Load tokenizer.json + tokenizer_config.json: eos is the template's end-of-turn token, pad the config's pad_token (or eos). */
export function loadHfTokenizer(dir: string, imageTokenId?: number): HfTokenizerParts {
  const tokPath = join(dir, TOKENIZER);
  const cfgPath = join(dir, TOKENIZER_CONFIG);
  const json = readJson(tokPath);
  const tc = readJson(cfgPath);
  const template = chatTemplateOf(dir, tc, imageTokenId !== undefined);
  if (typeof template !== 'string') {
    throw new UserError(`${cfgPath} has no chat_template string (named templates and base models without one are not supported); add the model's chat_template`);
  }
  const eosToken = tokenString(tc.eos_token);
  const bosToken = tokenString(tc.bos_token);
  if (!eosToken) throw new UserError(`${cfgPath} has no eos_token`);
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as { id: number; content: string; special?: boolean }[]) : [];
  const specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
  const roles = (eos: string, pad: string) => ({ pad, eos, user: eos, assistant: eos, image: eos });
  const probe = Tokenizer.fromJSON(json, tokPath, roles(eosToken, eosToken));
  const imageToken = imageTokenId === undefined ? undefined : added.find((t) => t.id === imageTokenId)?.content;
  if (imageTokenId !== undefined && !imageToken) throw new UserError(`${tokPath} has no added token with the image token id ${imageTokenId} that config.json names`);
  const chat = new ChatTemplate({ template, bosToken, eosToken, ...(imageToken ? { imageToken, typedContent: readsTypedContent(template) } : {}) }, cfgPath);
  const eos = chat.endOfTurn(probe, specialIds) ?? eosToken;
  const pad = tokenString(tc.pad_token) ?? eos;
  return { tokenizer: Tokenizer.fromJSON(json, tokPath, roles(eos, pad)), chat, specialIds, tokenizerConfig: tc };
}

/** Hub tensors → our store: projections transposed to [in, out], every name and shape checked. */
/** The checkpoint's weights under the graph's names (projections transposed to [in, out]). */
export function paramsFromHub(dir: string, c: HfDecoderConfig): ParamStore {
  const hub = readHubWeights(dir);
  const store = new ParamStore();
  for (const { name, shape } of decoderParamShapes(c)) {
    const t = hub.get(name);
    if (!t) throw new UserError(`${dir}: the weights lack ${name}, which config.json's ${c.architecture} needs`);
    const hubShape = isProjection(name) ? [shape[1], shape[0]] : shape;
    if (t.shape.join(',') !== hubShape.join(',')) throw new UserError(`${dir}: ${name} is [${t.shape}], config.json needs [${hubShape}]`);
    store.add(name, shape, isProjection(name) ? transpose2d(t.data, hubShape[0], hubShape[1]) : t.data);
    hub.delete(name);
  }
  // Tied checkpoints sometimes also store lm_head (a copy of the embedding); anything else is unexpected.
  if (c.tied) hub.delete(LM_HEAD);
  const extra = [...hub.keys()].filter((n) => !n.endsWith('.rotary_emb.inv_freq'));
  if (extra.length) throw new UserError(`${dir}: the weights hold ${extra[0]}${extra.length > 1 ? ` and ${extra.length - 1} more` : ''}, which ${c.architecture} as configured does not use`);
  return store;
}

export interface HfSource {
  rawConfig: Record<string, unknown>;
  config: HfDecoderConfig;
  tok: HfTokenizerParts;
  /** Files carried over on save (name → bytes). */
  carried: Map<string, Uint8Array>;
}

export class HfCausalLM implements LoadedModel {
  readonly kind: ModelKind = HF_KIND;
  readonly dims: ModelDims;
  readonly textOnly = true;
  readonly tokenizer: Tokenizer;
  readonly config: HfDecoderConfig;

  constructor(readonly params: ParamStore, private readonly src: HfSource) {
    this.config = src.config;
    this.tokenizer = src.tok.tokenizer;
    const c = src.config;
    this.dims = { layers: c.layers, dModel: c.hidden, vocabSize: c.vocabSize, maxSeq: maxSeqOf(c) };
  }

  /** The chat template this model formats prompts with. */
  get chat(): ChatTemplate {
    return this.src.tok.chat;
  }

  encode(sample: Sample): EncodedSample {
    if (sample.image) throw new UserError(`${this.config.architecture} is a text-only model; image samples need a vision–language model`);
    const t = this.src.tok.chat.encode(this.tokenizer, sample.question, sample.answer, this.src.tok.specialIds);
    return { ids: t.ids, labels: t.labels, image: null, imageAt: -1 };
  }

  batch(samples: readonly EncodedSample[], opts: { padSide: 'right' | 'left'; padTo?: number }): ModelBatch {
    if (samples.some((s) => s.image !== null)) throw new UserError(`${this.config.architecture} is a text-only model; image samples need a vision–language model`);
    const { batch } = textBatch(samples, opts, this.tokenizer.special.pad);
    return batch;
  }

  async preprocessImages(images: readonly BatchImage[]): Promise<Float32Array[]> {
    if (images.length === 0) return [];
    throw new UserError(`${this.config.architecture} is a text-only model; it takes no images`);
  }

  declareInputs(g: Graph, shape: BatchShape, prefix = ''): ModelInputs {
    if (shape.image) throw new UserError(`${this.config.architecture} is a text-only model; it takes no images`);
    const inputs: Record<string, Tensor> = {
      ids: g.input(`${prefix}ids`, [shape.B, shape.S], 'int64'),
      positions: g.input(`${prefix}positions`, [shape.B, shape.S], 'int64'),
    };
    if (shape.keyMask) inputs.keyMask = g.input(`${prefix}key_mask`, [shape.B, shape.S]);
    return inputs;
  }

  forward(g: Graph, P: ParamLookup, inputs: ModelInputs, wants: ForwardWants = {}): ForwardOutputs {
    return decoderForward(g, P, this.config, inputs as unknown as DecoderInputs, wants.hiddenLayers ?? []);
  }

  head(P: ParamLookup, hidden: Tensor): Tensor {
    return decoderHead(P, this.config, hidden);
  }

  decodeStep(P: ParamLookup, x: DecodeStepInputs): { logits: Tensor; cache: KV[] } {
    return decoderStep(P, this.config, x);
  }

  kvCacheShape(B: number, Smax: number): number[] {
    return [B, this.config.kvHeads, Smax, this.config.headDim];
  }

  linearLayers(): string[] {
    return decoderLinearPrefixes(this.config);
  }

  defaultTrainable(): boolean {
    return true;
  }

  withParams(params: ParamStore): HfCausalLM {
    return new HfCausalLM(params, this.src);
  }

  save(dir: string, training?: Record<string, JsonValue>): void {
    const weights = hasLora(this.params) ? mergeLora(this.params) : this.params;
    const tensors = decoderParamShapes(this.config).map(({ name, shape }) => {
      const data = weights.get(name).data;
      return isProjection(name)
        ? { name, shape: [shape[1], shape[0]], data: transpose2d(data, shape[0], shape[1]) }
        : { name, shape, data };
    });
    writeHubCheckpoint(dir, tensors, float32Config(this.src.rawConfig), training, this.tokenizer, this.src.tok.tokenizerConfig, this.src.carried);
  }

  describe(): Record<string, JsonValue> {
    return { kind: HF_KIND_ID, ...(JSON.parse(JSON.stringify(this.config)) as Record<string, JsonValue>) };
  }
}

/**
 * A batch's text part, for every Hugging Face kind: padded ids and positions, next-token targets, and the key
 * mask when left-padded. `collated` is what the padding did (lengths, side), for inputs a kind adds.
 */
export function textBatch(samples: readonly EncodedSample[], opts: { padSide: 'right' | 'left'; padTo?: number }, padId: number): { batch: ModelBatch; collated: ReturnType<typeof collate> } {
  const S = opts.padTo ?? bucketLength(Math.max(...samples.map((s) => s.ids.length)));
  const c = collate(samples, { padSide: opts.padSide, padTo: S, padId });
  const targets = new BigInt64Array(c.B * S).fill(BigInt(IGNORE_LABEL));
  for (let b = 0; b < c.B; b++) for (let t = 0; t + 1 < S; t++) targets[b * S + t] = c.labels[b * S + t + 1];
  const keyMask = opts.padSide === 'left';
  const feeds: Feeds = { ids: c.inputIds, positions: c.positionIds };
  if (keyMask) feeds.key_mask = c.attentionMask;
  return { batch: { shape: { B: c.B, S, image: false, keyMask }, feeds, targets, lengths: c.lengths }, collated: c };
}

/** A config.json that says float32, as the weights are written: `torch_dtype`, and `dtype` where newer transformers name it. */
export function float32Config(c: Record<string, unknown>): Record<string, unknown> {
  return { ...c, torch_dtype: 'float32', ...('dtype' in c ? { dtype: 'float32' } : {}) };
}

/**
 * Writes a checkpoint in the hub's layout: the weights (single file or shards with an index), config.json with
 * the training record under "clearbench", the tokenizer files, and the files carried over as they were.
 */
export function writeHubCheckpoint(
  dir: string, tensors: Parameters<typeof hubWeightFiles>[0], config: Record<string, unknown>, training: Record<string, JsonValue> | undefined,
  tokenizer: Tokenizer, tokenizerConfig: Record<string, unknown>, carried: ReadonlyMap<string, Uint8Array>,
): void {
  const files = hubWeightFiles(tensors);
  files.set(CONFIG, `${JSON.stringify(training === undefined ? config : { ...config, clearbench: { training } }, null, 2)}\n`);
  files.set(TOKENIZER, serializeTokenizerJson(tokenizer.toJSON()));
  files.set(TOKENIZER_CONFIG, `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  for (const [name, bytes] of carried) files.set(name, bytes);
  writeCheckpointFiles(dir, files, (name) => name === SINGLE_FILE || name === INDEX_FILE || /^model-\d{5}-of-\d{5}\.safetensors$/.test(name));
}

/** Load a Hugging Face causal LM directory. */
export function loadHfModel(dir: string): HfCausalLM {
  const rawConfig = readJson(join(dir, CONFIG));
  const config = parseHfConfig(rawConfig, join(dir, CONFIG));
  const tok = loadHfTokenizer(dir);
  const carried = new Map<string, Uint8Array>();
  for (const f of CARRIED) if (existsSync(join(dir, f))) carried.set(f, readFileSync(join(dir, f)));
  return new HfCausalLM(paramsFromHub(dir, config), { rawConfig, config, tok, carried });
}

export const HF_KIND: ModelKind = { id: HF_KIND_ID, load: loadHfModel };
