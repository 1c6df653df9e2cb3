/**
 * The CLIP vision tower as LLaVA reads it (transformers' modeling_clip.py CLIPVisionTransformer): patch
 * embedding (a stride-patch convolution without bias, computed as a linear layer on patchify's
 * (channel, row, column) patch vectors), the class embedding prepended, learned position embeddings,
 * pre_layrnorm (sic), then pre-LN encoder layers x += out_proj(attn(LN1 x)); x += fc2(act(fc1(LN2 x))).
 * hidden_states[k] is the residual stream after k layers (k = 0: after pre_layrnorm), so only the layers
 * below the feature layer are computed; post_layernorm feeds CLIP's pooled output, which LLaVA does not
 * use. Linear weights are stored [in, out] like the decoder's.
 */
import { Tensor, patchify } from '../../engine/graph.ts';
import { type ParamLookup } from '../../engine/params.ts';
import { linear } from '../transformer.ts';
import { type Activation, type ClipVisionConfig } from './llava-config.ts';

export const VISION = 'model.vision_tower.vision_model';
export const PROJECTOR = 'model.multi_modal_projector';
const EMB = `${VISION}.embeddings`;
export const clipLayerPrefix = (l: number) => `${VISION}.encoder.layers.${l}`;

export function activate(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case 'quick_gelu':
      return x.mul(x.mul(1.702).sigmoid());
    case 'gelu':
      return x.gelu(false);
    case 'gelu_tanh':
      return x.gelu(true);
  }
}

/** The tensors the tower reads up to hidden_states[featureLayer] (hub shapes transposed to [in, out] for linears). */
export function clipParamShapes(v: ClipVisionConfig, featureLayer: number): { name: string; shape: number[] }[] {
  const D = v.hidden;
  const n = (v.imageSize / v.patch) ** 2 + 1;
  const out = [
    { name: `${EMB}.patch_embedding.weight`, shape: [3 * v.patch * v.patch, D] },
    { name: `${EMB}.class_embedding`, shape: [D] },
    { name: `${EMB}.position_embedding.weight`, shape: [n, D] },
    { name: `${VISION}.pre_layrnorm.weight`, shape: [D] },
    { name: `${VISION}.pre_layrnorm.bias`, shape: [D] },
  ];
  for (let l = 0; l < featureLayer; l++) {
    const p = clipLayerPrefix(l);
    for (const ln of ['layer_norm1', 'layer_norm2']) out.push({ name: `${p}.${ln}.weight`, shape: [D] }, { name: `${p}.${ln}.bias`, shape: [D] });
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push({ name: `${p}.self_attn.${proj}.weight`, shape: [D, D] }, { name: `${p}.self_attn.${proj}.bias`, shape: [D] });
    out.push({ name: `${p}.mlp.fc1.weight`, shape: [D, v.intermediate] }, { name: `${p}.mlp.fc1.bias`, shape: [v.intermediate] });
    out.push({ name: `${p}.mlp.fc2.weight`, shape: [v.intermediate, D] }, { name: `${p}.mlp.fc2.bias`, shape: [D] });
  }
  return out;
}

/** The linear layers of the computed tower, by prefix (LoRA may target them). */
export function clipLinearPrefixes(featureLayer: number): string[] {
  const out: string[] = [];
  for (let l = 0; l < featureLayer; l++) {
    const p = clipLayerPrefix(l);
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push(`${p}.self_attn.${proj}`);
    out.push(`${p}.mlp.fc1`, `${p}.mlp.fc2`);
  }
  return out;
}

/** Pixel values [B, 3, H, W] → hidden_states[featureLayer] [B, 1 + patches, D]. */
export function clipFeatures(P: ParamLookup, v: ClipVisionConfig, featureLayer: number, pixels: Tensor): Tensor {
  const [B] = pixels.shape;
  const D = v.hidden;
  const H = v.heads;
  const dh = D / H;
  const patches = patchify(pixels, v.patch).linear(P(`${EMB}.patch_embedding.weight`)); // [B, N, D]
  const N = patches.shape[1];
  const cls = P(`${EMB}.class_embedding`).reshape([1, 1, D]).expand([B, 1, D]);
  let x = Tensor.concat([cls, patches], 1).add(P(`${EMB}.position_embedding.weight`));
  x = x.layerNorm(P(`${VISION}.pre_layrnorm.weight`), P(`${VISION}.pre_layrnorm.bias`), v.eps);
  const T = N + 1;
  for (let l = 0; l < featureLayer; l++) {
    const p = clipLayerPrefix(l);
    const a = x.layerNorm(P(`${p}.layer_norm1.weight`), P(`${p}.layer_norm1.bias`), v.eps);
    const heads = (name: string) => linear(a, P, `${p}.self_attn.${name}`).reshape([B, T, H, dh]).transpose([0, 2, 1, 3]);
    const scores = heads('q_proj').matmul(heads('k_proj'), { transB: true, alpha: 1 / Math.sqrt(dh) });
    const ctx = scores.softmax(-1).matmul(heads('v_proj')).transpose([0, 2, 1, 3]).reshape([B, T, D]);
    x = x.add(linear(ctx, P, `${p}.self_attn.out_proj`));
    const m = x.layerNorm(P(`${p}.layer_norm2.weight`), P(`${p}.layer_norm2.bias`), v.eps);
    x = x.add(linear(activate(linear(m, P, `${p}.mlp.fc1`), v.act), P, `${p}.mlp.fc2`));
  }
  return x;
}
