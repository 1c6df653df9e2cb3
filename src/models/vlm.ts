/**
 * The vision–language model: a ViT image encoder (patchify → linear patch embedding → learned positions →
 * pre-norm blocks → norm), an MLP projector into the language model's width, and the causal decoder of
 * causal-lm.ts. Image embeddings take the places of the `<|image|>` placeholder slots in the token sequence
 * (chat.ts's expandImagePlaceholder), so the decoder sees [<|user|>, image tokens, text tokens …].
 */
import { type Graph, type Tensor, patchify } from '../engine/graph.ts';
import { type ParamStore } from '../engine/params.ts';
import { Rng } from '../util/rng.ts';
import { type CausalLMConfig, causalLMForward, initCausalLM } from './causal-lm.ts';
import { type Norm, type ParamLookup, applyNorm, block, initBlock, initLinear, initNorm, linear, mlp, normalInit } from './transformer.ts';
import { type BatchShape } from './model.ts';

export interface VisionConfig {
  imageSize: number;
  patch: number;
  dModel: number;
  layers: number;
  heads: number;
  mlpRatio: number;
  norm: Norm;
}

export interface VLMConfig {
  vision: VisionConfig;
  lm: CausalLMConfig;
}

export const PRESET_NAMES = ['tiny', 'small'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Named sizes. `tiny` runs tests in seconds; `small` is the default benchmark model. */
export function preset(name: PresetName, vocabSize: number): VLMConfig {
  switch (name) {
    case 'tiny':
      return {
        vision: { imageSize: 32, patch: 8, dModel: 32, layers: 1, heads: 2, mlpRatio: 2, norm: 'layernorm' },
        lm: { vocabSize, dModel: 48, layers: 2, heads: 2, mlpRatio: 4, maxSeq: 192, norm: 'layernorm' },
      };
    case 'small':
      return {
        vision: { imageSize: 48, patch: 12, dModel: 96, layers: 2, heads: 4, mlpRatio: 4, norm: 'layernorm' },
        lm: { vocabSize, dModel: 128, layers: 4, heads: 4, mlpRatio: 4, maxSeq: 192, norm: 'layernorm' },
      };
    default:
      throw new Error(`unknown model preset '${String(name)}' (tiny, small)`);
  }
}

export function imageTokenCount(v: VisionConfig): number {
  return (v.imageSize / v.patch) ** 2;
}

export function initVLM(store: ParamStore, cfg: VLMConfig, seed: number): void {
  const v = cfg.vision;
  if (v.imageSize % v.patch !== 0) throw new Error(`imageSize ${v.imageSize} is not a multiple of patch ${v.patch}`);
  if (v.dModel % v.heads !== 0) throw new Error(`vision dModel ${v.dModel} is not divisible by heads ${v.heads}`);
  const rng = Rng.derive(seed, 'vision');
  const n = imageTokenCount(v);
  initLinear(store, 'vision.patch_embed', 3 * v.patch * v.patch, v.dModel, rng);
  store.add('vision.pos_emb', [n, v.dModel], normalInit(rng, n * v.dModel, 0.02));
  const residualStd = 0.02 / Math.sqrt(2 * v.layers);
  for (let l = 0; l < v.layers; l++) {
    initBlock(store, `vision.blocks.${l}`, { dModel: v.dModel, heads: v.heads, mlpHidden: v.mlpRatio * v.dModel, norm: v.norm }, rng, residualStd);
  }
  initNorm(store, 'vision.norm_f', v.dModel, v.norm);
  initLinear(store, 'projector.fc1', v.dModel, cfg.lm.dModel, rng);
  initLinear(store, 'projector.fc2', cfg.lm.dModel, cfg.lm.dModel, rng);
  initCausalLM(store, cfg.lm, seed, 'lm');
}

/** Images [B, 3, H, W] → image-token embeddings in the decoder's width [B, N, D]. */
export function encodeImages(P: ParamLookup, cfg: VLMConfig, images: Tensor): Tensor {
  const v = cfg.vision;
  let x = linear(patchify(images, v.patch), P, 'vision.patch_embed').add(P('vision.pos_emb'));
  for (let l = 0; l < v.layers; l++) {
    x = block(x, P, `vision.blocks.${l}`, { dModel: v.dModel, heads: v.heads, mlpHidden: v.mlpRatio * v.dModel, norm: v.norm }, null);
  }
  x = applyNorm(x, P, 'vision.norm_f', v.norm);
  return mlp(x, P, 'projector');
}

/** Graph inputs of one batch shape. */
export interface VLMInputs {
  /** Token ids [B, S] (placeholder slots hold the <|image|> id). */
  ids: Tensor;
  /** Position of every token [B, S] (left-padded rows start counting at their first real token). */
  positions: Tensor;
  /** Present for image batches. */
  images?: Tensor;
  /** For each position, which image token goes there [B, S] (int64, 0 where not an image slot). */
  imageIndex?: Tensor;
  /** 1 on image slots, 0 elsewhere [B, S, 1]. */
  imageSlot?: Tensor;
  /** 1 on real tokens, 0 on padding [B, S]; only needed when padding precedes real tokens. */
  keyMask?: Tensor;
}

export type { BatchShape };

/** Graph inputs of one batch shape; `prefix` namespaces them when a graph holds several batches. */
export function declareInputs(g: Graph, cfg: VLMConfig, s: BatchShape, prefix = ''): VLMInputs {
  const v = cfg.vision;
  const inputs: VLMInputs = {
    ids: g.input(`${prefix}ids`, [s.B, s.S], 'int64'),
    positions: g.input(`${prefix}positions`, [s.B, s.S], 'int64'),
  };
  if (s.image) {
    inputs.images = g.input(`${prefix}images`, [s.B, 3, v.imageSize, v.imageSize]);
    inputs.imageIndex = g.input(`${prefix}image_index`, [s.B, s.S], 'int64');
    inputs.imageSlot = g.input(`${prefix}image_slot`, [s.B, s.S, 1]);
  }
  if (s.keyMask) inputs.keyMask = g.input(`${prefix}key_mask`, [s.B, s.S]);
  return inputs;
}

/** Token embeddings with the image embeddings placed into their slots. */
export function embedInputs(P: ParamLookup, cfg: VLMConfig, x: VLMInputs, name = 'lm'): Tensor {
  const tok = P(`${name}.tok_emb`).gather(x.ids);
  if (!x.images) return tok;
  const img = encodeImages(P, cfg, x.images);
  const [B, S] = x.ids.shape;
  const D = cfg.lm.dModel;
  const idx = x.imageIndex!.unsqueeze(-1).expand([B, S, D]);
  const placed = img.gatherElements(idx, 1);
  const slot = x.imageSlot!;
  return tok.mul(slot.neg().add(1)).add(placed.mul(slot));
}

export interface VLMForward {
  logits: Tensor;
  hidden: Record<number, Tensor>;
  /** Per layer, the keys and values [B, H, S, dh] (for the generation cache). */
  kv: { k: Tensor; v: Tensor }[];
}

export function vlmForward(g: Graph, P: ParamLookup, cfg: VLMConfig, x: VLMInputs, opts: { hiddenLayers?: number[] } = {}): VLMForward {
  const emb = embedInputs(P, cfg, x);
  const attnMask = x.keyMask ? x.keyMask.sub(1).mul(1e9).unsqueeze([1, 2]) : undefined;
  const kv: { k: Tensor; v: Tensor }[] = [];
  const out = causalLMForward(g, P, cfg.lm, null, { embeddings: emb, positions: x.positions, attnMask, hiddenLayers: opts.hiddenLayers, kvOut: kv });
  return { logits: out.logits, hidden: out.hidden, kv };
}
