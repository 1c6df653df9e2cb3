/**
 * LlavaForConditionalGeneration (transformers' modeling_llava.py) behind the model seam: the CLIP tower's
 * hidden_states[vision_feature_layer] (class token dropped for the 'default' strategy) go through the
 * projector linear_2(act(linear_1(·))) and replace the embeddings of the image tokens, which the chat
 * format expands from one `<image>` to as many tokens as the tower gives features (what LlavaProcessor
 * does to the text); the Llama decoder (decoder.ts) runs on the result. Text-only samples need no image.
 *
 * Parameters are held under the current (transformers ≥ 4.52) names; the checkpoint's own layout, names,
 * unused tower tensors (post_layernorm, layers past the feature layer) and processor files are written back
 * on save, LoRA merged, F32.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Graph, type Tensor } from '../../engine/graph.ts';
import { type ParamLookup, ParamStore } from '../../engine/params.ts';
import { UserError } from '../../util/errors.ts';
import { IGNORE_LABEL } from '../../protocol/vocabulary.ts';
import { type BatchImage } from '../../data/images.ts';
import { type TensorCache } from '../../data/tensor-cache.ts';
import { type Tokenizer } from '../tokenizer/tokenizer.ts';
import { type EncodedSample, type Sample } from '../batch.ts';
import { expandImagePlaceholder } from '../chat.ts';
import { hasLora, mergeLora } from '../lora.ts';
import { linear } from '../transformer.ts';
import {
  type BatchShape, type DecodeStepInputs, type ForwardOutputs, type ForwardWants, type JsonValue, type KV, type LoadedModel,
  type ModelBatch, type ModelDims, type ModelInputs, type ModelKind,
} from '../model.ts';
import { type HfTokenizerParts, float32Config, loadHfTokenizer, readJson, textBatch, writeHubCheckpoint } from './hf-model.ts';
import { tokenString } from './chat-template.ts';
import { decoderForward, decoderHead, decoderLinearPrefixes, decoderParamShapes, decoderStep, maxSeqOf } from './decoder.ts';
import { type LlavaConfig, parseLlavaConfig } from './llava-config.ts';
import { PROJECTOR, activate, clipFeatures, clipLinearPrefixes, clipParamShapes } from './clip.ts';
import { type HubTensorF32, type LlavaLayout, fromCurrent, fromHub, hubShape, readLlavaWeights, toHub } from './llava-weights.ts';
import { type ClipPreprocessor, defaultPreprocessor, parsePreprocessor, preprocessImages } from './preprocessor.ts';

export const LLAVA_KIND_ID = 'hf-llava';
const CONFIG = 'config.json';
const PREPROCESSOR = 'preprocessor_config.json';
/** Files copied as they are when saving (tokenizer.json and tokenizer_config.json are rewritten). */
const CARRIED = ['generation_config.json', 'special_tokens_map.json', PREPROCESSOR, 'processor_config.json', 'chat_template.json', 'chat_template.jinja', 'added_tokens.json'];
/** The vision tower stays frozen unless a run says otherwise, as in CLEAR. */
export const VISION_TOWER = 'model.vision_tower.';

/** A decoder name (decoder.ts's `model.…`) → its place in LLaVA (`model.language_model.…`); lm_head stays. */
export function textName(name: string): string {
  return name.startsWith('model.') ? `model.language_model.${name.slice('model.'.length)}` : name;
}

/** The decoder's view of LLaVA's parameters. */
function textLookup(P: ParamLookup): ParamLookup {
  return Object.assign((name: string) => P(textName(name)), { has: (name: string) => P.has(textName(name)) });
}

/** Every parameter the forward reads, by current name and our shape ([in, out] linears). */
export function llavaParamShapes(c: LlavaConfig): { name: string; shape: number[] }[] {
  const vIn = c.vision.hidden;
  const D = c.text.hidden;
  return [
    ...clipParamShapes(c.vision, c.featureLayer),
    { name: `${PROJECTOR}.linear_1.weight`, shape: [vIn, D] },
    ...(c.projectorBias ? [{ name: `${PROJECTOR}.linear_1.bias`, shape: [D] }] : []),
    { name: `${PROJECTOR}.linear_2.weight`, shape: [D, D] },
    ...(c.projectorBias ? [{ name: `${PROJECTOR}.linear_2.bias`, shape: [D] }] : []),
    ...decoderParamShapes(c.text).map(({ name, shape }) => ({ name: textName(name), shape })),
  ];
}

/** The linear layers LoRA may adapt: the computed tower's, the projector's and the decoder's projections. */
export function llavaLinearPrefixes(c: LlavaConfig): string[] {
  return [...clipLinearPrefixes(c.featureLayer), `${PROJECTOR}.linear_1`, `${PROJECTOR}.linear_2`, ...decoderLinearPrefixes(c.text).map(textName)];
}

/** Graph inputs of one batch (the VLM's feed names, so generation and scoring feed it unchanged). */
export interface LlavaInputs {
  ids: Tensor;
  positions: Tensor;
  keyMask?: Tensor;
  /** Pixel values [B, 3, H, W]. */
  images?: Tensor;
  /** Which image feature fills each position [B, S] (int64, 0 elsewhere). */
  imageIndex?: Tensor;
  /** 1 on image-token positions [B, S, 1]. */
  imageSlot?: Tensor;
}

/** Pixel values [B, 3, H, W] → image features in the decoder's width [B, N, D]. */
export function imageFeatures(P: ParamLookup, c: LlavaConfig, pixels: Tensor): Tensor {
  let f = clipFeatures(P, c.vision, c.featureLayer, pixels);
  if (c.selectStrategy === 'default') f = f.slice([1], [f.shape[1]], [1]);
  const h = linear(f, P, `${PROJECTOR}.linear_1`, c.projectorBias);
  return linear(activate(h, c.projectorAct), P, `${PROJECTOR}.linear_2`, c.projectorBias);
}

/** The forward pass on declared inputs (training, scoring, generation's prefill, export). */
export function llavaForward(g: Graph, P: ParamLookup, c: LlavaConfig, x: LlavaInputs, hiddenLayers: readonly number[] = []): ForwardOutputs {
  const T = textLookup(P);
  let embeddings: Tensor | undefined;
  if (x.images) {
    const [B, S] = x.ids.shape;
    const D = c.text.hidden;
    const tok = T('model.embed_tokens.weight').gather(x.ids);
    const placed = imageFeatures(P, c, x.images).gatherElements(x.imageIndex!.unsqueeze(-1).expand([B, S, D]), 1);
    // A 0/1 blend is exact: image positions take the features, every other position keeps its embedding.
    embeddings = tok.mul(x.imageSlot!.neg().add(1)).add(placed.mul(x.imageSlot!));
  }
  return decoderForward(g, T, c.text, { ids: x.ids, positions: x.positions, keyMask: x.keyMask, embeddings }, hiddenLayers);
}

/** The checkpoint beyond its parameters. */
export interface LlavaSource {
  dir: string;
  rawConfig: Record<string, unknown>;
  config: LlavaConfig;
  tok: HfTokenizerParts;
  preprocessor: ClipPreprocessor;
  layout: LlavaLayout;
  /** Tensors of the checkpoint the forward does not read, kept for saving (current names, hub shapes). */
  unused: Map<string, HubTensorF32>;
  carried: Map<string, Uint8Array>;
}

export class LlavaModel implements LoadedModel {
  readonly kind: ModelKind = LLAVA_KIND;
  readonly dims: ModelDims;
  readonly tokenizer: Tokenizer;
  readonly config: LlavaConfig;

  constructor(readonly params: ParamStore, readonly src: LlavaSource) {
    this.config = src.config;
    this.tokenizer = src.tok.tokenizer;
    const t = src.config.text;
    this.dims = { layers: t.layers, dModel: t.hidden, vocabSize: t.vocabSize, maxSeq: maxSeqOf(t) };
  }

  /** The id put before every sequence when tokenizer_config.json asks for it (add_bos_token). */
  private get bosId(): number | undefined {
    const tc = this.src.tok.tokenizerConfig;
    const token = tokenString(tc.bos_token);
    return tc.add_bos_token === true && token ? this.tokenizer.tokenToId(token) : undefined;
  }

  encode(sample: Sample): EncodedSample {
    const image = sample.image !== null;
    const t = this.src.tok.chat.encode(this.tokenizer, sample.question, sample.answer, this.src.tok.specialIds, image);
    const id = this.config.imageTokenId;
    const count = t.ids.filter((x) => x === id).length;
    if (count !== (image ? 1 : 0)) {
      throw new UserError(`${join(this.src.dir, 'tokenizer_config.json')}: the chat_template writes the image token ${count} times for ${image ? 'an image' : 'a text-only'} turn, expected ${image ? 1 : 0}`);
    }
    // llava-1.5's template ends an answer with a space, not </s>; LLaVA's training conversations end with </s>,
    // so an answer the template does not close gets eos (labelled) and generation learns to stop.
    const eos = this.tokenizer.special.eos;
    let ids = sample.answer !== undefined && !t.labels.includes(eos) ? [...t.ids, eos] : t.ids;
    let labels = ids.length > t.ids.length ? [...t.labels, eos] : t.labels;
    // LlavaProcessor tokenizes the rendered text with the tokenizer's special tokens: a Llama tokenizer
    // (add_bos_token) puts <s> first, which llava-1.5's template does not write.
    const bos = this.bosId;
    if (bos !== undefined && ids[0] !== bos) {
      ids = [bos, ...ids];
      labels = [IGNORE_LABEL, ...labels];
    }
    if (!image) return { ids, labels, image: null, imageAt: -1 };
    const ex = expandImagePlaceholder(ids, labels, this.config.imageTokens, id);
    return { ids: ex.ids, labels: ex.labels, image: sample.image, imageAt: ex.imagePositions[0] };
  }

  batch(samples: readonly EncodedSample[], opts: { padSide: 'right' | 'left'; padTo?: number }): ModelBatch {
    const withImage = samples[0].image !== null;
    if (samples.some((s) => (s.image !== null) !== withImage)) throw new Error('a batch mixes image and text-only samples');
    const { batch, collated: c } = textBatch(samples, opts, this.tokenizer.special.pad);
    if (!withImage) return batch;
    const S = batch.shape.S;
    const { imageSize } = this.config.vision;
    const per = 3 * imageSize * imageSize;
    const n = this.config.imageTokens;
    const images = new Float32Array(c.B * per);
    const index = new BigInt64Array(c.B * S);
    const slot = new Float32Array(c.B * S);
    samples.forEach((s, b) => {
      if (s.image!.length !== per) throw new Error(`image ${b} has ${s.image!.length} values, the vision tower takes ${per}`);
      images.set(s.image!, b * per);
      const at = b * S + (opts.padSide === 'left' ? S - c.lengths[b] : 0) + s.imageAt;
      for (let k = 0; k < n; k++) {
        index[at + k] = BigInt(k);
        slot[at + k] = 1;
      }
    });
    Object.assign(batch.feeds, { images, image_index: index, image_slot: slot });
    return { ...batch, shape: { ...batch.shape, image: true } };
  }

  preprocessImages(images: readonly BatchImage[], cache?: TensorCache): Promise<Float32Array[]> {
    return preprocessImages(images, this.src.preprocessor, cache);
  }

  declareInputs(g: Graph, shape: BatchShape, prefix = ''): ModelInputs {
    const { B, S } = shape;
    const s = this.config.vision.imageSize;
    const x: LlavaInputs = { ids: g.input(`${prefix}ids`, [B, S], 'int64'), positions: g.input(`${prefix}positions`, [B, S], 'int64') };
    if (shape.image) {
      x.images = g.input(`${prefix}images`, [B, 3, s, s]);
      x.imageIndex = g.input(`${prefix}image_index`, [B, S], 'int64');
      x.imageSlot = g.input(`${prefix}image_slot`, [B, S, 1]);
    }
    if (shape.keyMask) x.keyMask = g.input(`${prefix}key_mask`, [B, S]);
    return x as unknown as ModelInputs;
  }

  /**
   * Hugging Face's inputs for export: input_ids, attention_mask (int64) and pixel_values; positions count
   * each row's real tokens from 0 (attention_mask's cumulative sum − 1, as generate computes position_ids)
   * and the image features fill the image-token positions in order.
   */
  exportInputs(g: Graph, shape: { B: number; S: number; image: boolean }): { inputs: ModelInputs; doc: Record<string, string> } {
    const { B, S } = shape;
    const s = this.config.vision.imageSize;
    const ids = g.input('input_ids', [B, S], 'int64');
    const mask = g.input('attention_mask', [B, S], 'int64');
    // max(cumsum along the row − 1, 0), in int64 (the graph is never differentiated).
    const countFrom0 = (t: Tensor) => {
      const c = g.op1('CumSum', [t, g.scalar(1, 'int64')], {}, t.shape, 'int64').sub(1);
      return c.less(0).where(0, c);
    };
    const x: LlavaInputs = { ids, positions: countFrom0(mask), keyMask: mask.cast('float32') };
    const doc: Record<string, string> = {
      input_ids: `int64 [B, S]: token ids; each image is ${this.config.imageTokens} image tokens (id ${this.config.imageTokenId})`,
      attention_mask: 'int64 [B, S]: 1 on real tokens, 0 on padding (positions count the real tokens from 0)',
    };
    if (shape.image) {
      x.images = g.input('pixel_values', [B, 3, s, s]);
      const slot = ids.equal(this.config.imageTokenId);
      x.imageIndex = countFrom0(slot.cast('int64'));
      x.imageSlot = slot.cast('float32').unsqueeze(-1);
      doc.pixel_values = `float32 [B, 3, ${s}, ${s}]: one image per row, as preprocessor_config.json prepares it`;
    }
    return { inputs: x as unknown as ModelInputs, doc };
  }

  forward(g: Graph, P: ParamLookup, inputs: ModelInputs, wants: ForwardWants = {}): ForwardOutputs {
    return llavaForward(g, P, this.config, inputs as unknown as LlavaInputs, wants.hiddenLayers ?? []);
  }

  head(P: ParamLookup, hidden: Tensor): Tensor {
    return decoderHead(textLookup(P), this.config.text, hidden);
  }

  decodeStep(P: ParamLookup, x: DecodeStepInputs): { logits: Tensor; cache: KV[] } {
    return decoderStep(textLookup(P), this.config.text, x);
  }

  kvCacheShape(B: number, Smax: number): number[] {
    return [B, this.config.text.kvHeads, Smax, this.config.text.headDim];
  }

  linearLayers(): string[] {
    return llavaLinearPrefixes(this.config);
  }

  defaultTrainable(name: string): boolean {
    return !name.startsWith(VISION_TOWER);
  }

  withParams(params: ParamStore): LlavaModel {
    return new LlavaModel(params, this.src);
  }

  save(dir: string, training?: Record<string, JsonValue>): void {
    const weights = hasLora(this.params) ? mergeLora(this.params) : this.params;
    const { patch } = this.config.vision;
    const tensors = llavaParamShapes(this.config).map(({ name, shape }) => ({
      name: fromCurrent(name, this.src.layout), shape: hubShape(name, shape, patch), data: toHub(name, shape, weights.get(name).data),
    }));
    for (const [name, t] of this.src.unused) tensors.push({ name: fromCurrent(name, this.src.layout), shape: t.shape, data: t.data });
    // The weights are written F32, which the dtype keys say, at the top level and in the nested configs that have one.
    const config = float32Config(this.src.rawConfig);
    for (const key of ['text_config', 'vision_config']) {
      const sub = config[key] as Record<string, unknown> | undefined;
      if (sub && typeof sub === 'object' && !Array.isArray(sub) && ('torch_dtype' in sub || 'dtype' in sub)) {
        config[key] = { ...sub, ...('torch_dtype' in sub ? { torch_dtype: 'float32' } : {}), ...('dtype' in sub ? { dtype: 'float32' } : {}) };
      }
    }
    writeHubCheckpoint(dir, tensors, config, training, this.tokenizer, this.src.tok.tokenizerConfig, this.src.carried);
  }

  describe(): Record<string, JsonValue> {
    return { kind: LLAVA_KIND_ID, layout: this.src.layout, ...(JSON.parse(JSON.stringify(this.config)) as Record<string, JsonValue>) };
  }
}

/** The checkpoint's weights under current names; the tensors the forward does not read are returned apart. */
export function llavaParamsFromHub(dir: string, c: LlavaConfig): { params: ParamStore; unused: Map<string, HubTensorF32>; layout: LlavaLayout } {
  const { tensors: hub, layout } = readLlavaWeights(dir);
  const params = new ParamStore();
  for (const { name, shape } of llavaParamShapes(c)) {
    const t = hub.get(name);
    if (!t) throw new UserError(`${dir}: the weights lack ${fromCurrent(name, layout)}, which config.json's LlavaForConditionalGeneration needs`);
    const want = hubShape(name, shape, c.vision.patch);
    if (t.shape.join(',') !== want.join(',')) throw new UserError(`${dir}: ${fromCurrent(name, layout)} is [${t.shape}], config.json needs [${want}]`);
    params.add(name, shape, fromHub(name, t));
    hub.delete(name);
  }
  if (c.text.tied) hub.delete('lm_head.weight');
  // The tower's later layers and post_layernorm are part of the checkpoint; nothing else may be left.
  const stray = [...hub.keys()].filter((n) => !n.startsWith(VISION_TOWER) && !n.endsWith('.rotary_emb.inv_freq'));
  if (stray.length) throw new UserError(`${dir}: the weights hold ${fromCurrent(stray[0], layout)}${stray.length > 1 ? ` and ${stray.length - 1} more` : ''}, which LlavaForConditionalGeneration as configured does not use`);
  const unused = new Map([...hub].filter(([n]) => n.startsWith(VISION_TOWER)));
  return { params, unused, layout };
}

/** Load a LLaVA checkpoint directory. */
export function loadLlavaModel(dir: string): LlavaModel {
  const rawConfig = readJson(join(dir, CONFIG));
  const config = parseLlavaConfig(rawConfig, join(dir, CONFIG));
  const tok = loadHfTokenizer(dir, config.imageTokenId);
  const ppPath = join(dir, PREPROCESSOR);
  const preprocessor = existsSync(ppPath) ? parsePreprocessor(readJson(ppPath), ppPath, config.vision.imageSize) : defaultPreprocessor(config.vision.imageSize);
  const carried = new Map<string, Uint8Array>();
  for (const f of CARRIED) if (existsSync(join(dir, f))) carried.set(f, readFileSync(join(dir, f)));
  const { params, unused, layout } = llavaParamsFromHub(dir, config);
  return new LlavaModel(params, { dir, rawConfig, config, tok, preprocessor, layout, unused, carried });
}

export const LLAVA_KIND: ModelKind = { id: LLAVA_KIND_ID, load: loadLlavaModel };
