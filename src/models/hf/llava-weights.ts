/**
 * LLaVA's two weight-name layouts. The legacy one (transformers < 4.52, and most hub repos) names
 * `language_model.model.layers…`, `language_model.lm_head`, `vision_tower.vision_model…`,
 * `multi_modal_projector.linear_1/2`; the current one (≥ 4.52) names `model.language_model.layers…`,
 * `model.vision_tower…`, `model.multi_modal_projector…`, `lm_head`. Parameters are held under the current
 * names whatever the file uses (so LoRA targets and frozen prefixes do not depend on it) and saved back in
 * the layout they came in. Linear weights are transposed to [in, out] and the patch convolution flattened
 * to a linear layer on load, and back on save.
 */
import { UserError } from '../../util/errors.ts';
import { readSafetensors } from '../safetensors.ts';
import { join } from 'node:path';
import { toFloat32, transpose2d, weightFiles } from './weights.ts';

export type LlavaLayout = 'legacy' | 'current';

const LEGACY: [string, string][] = [
  ['language_model.model.', 'model.language_model.'],
  ['language_model.lm_head.', 'lm_head.'],
  ['vision_tower.', 'model.vision_tower.'],
  ['multi_modal_projector.', 'model.multi_modal_projector.'],
];

/** The layout of a set of hub names (one of them must be unambiguous). */
export function detectLayout(names: readonly string[], source: string): LlavaLayout {
  const legacy = names.some((n) => LEGACY.some(([from]) => n.startsWith(from)));
  const current = names.some((n) => n.startsWith('model.'));
  if (legacy && current) throw new UserError(`${source}: the weights mix the legacy (language_model.…) and current (model.language_model.…) LLaVA layouts`);
  if (!legacy && !current) throw new UserError(`${source}: the weights name neither LLaVA layout (language_model.… or model.language_model.…)`);
  return legacy ? 'legacy' : 'current';
}

/** A hub name in the current layout. */
export function toCurrent(name: string, layout: LlavaLayout): string {
  if (layout === 'current') return name;
  for (const [from, to] of LEGACY) if (name.startsWith(from)) return to + name.slice(from.length);
  return name;
}

/** A current-layout name in `layout`. */
export function fromCurrent(name: string, layout: LlavaLayout): string {
  if (layout === 'current') return name;
  for (const [from, to] of LEGACY) if (name.startsWith(to)) return from + name.slice(to.length);
  return name;
}

export const PATCH_EMBED = 'model.vision_tower.vision_model.embeddings.patch_embedding.weight';

/** Linear weights, stored [out, in] on the hub and [in, out] here. */
export function isLinearWeight(name: string): boolean {
  return /(_proj|\.fc1|\.fc2|\.linear_1|\.linear_2)\.weight$/.test(name);
}

export interface HubTensorF32 {
  shape: number[];
  data: Float32Array;
}

/**
 * Every float tensor of the checkpoint under current-layout names, as float32, and the layout it used.
 * Integer buffers (an old CLIP's embeddings.position_ids) are not weights and are left out.
 */
export function readLlavaWeights(dir: string): { tensors: Map<string, HubTensorF32>; layout: LlavaLayout } {
  const raw: [string, HubTensorF32][] = [];
  for (const f of weightFiles(dir).files) {
    const path = join(dir, f);
    for (const [name, t] of readSafetensors(path).tensors) {
      if (name.endsWith('.position_ids')) continue;
      raw.push([name, { shape: t.shape, data: toFloat32(t, name, path) }]);
    }
  }
  const layout = detectLayout(raw.map(([n]) => n), dir);
  const tensors = new Map<string, HubTensorF32>();
  for (const [name, t] of raw) {
    const n = toCurrent(name, layout);
    if (tensors.has(n)) throw new UserError(`${dir}: tensor ${name} appears twice`);
    tensors.set(n, t);
  }
  return { tensors, layout };
}

/** The hub's shape of a parameter held as `shape` here. */
export function hubShape(name: string, shape: readonly number[], patch: number): number[] {
  if (name === PATCH_EMBED) return [shape[1], 3, patch, patch];
  if (isLinearWeight(name)) return [shape[1], shape[0]];
  return shape.slice();
}

/** Hub tensor → our layout ([in, out] linears, the patch convolution as [3·p·p, D]). */
export function fromHub(name: string, t: HubTensorF32): Float32Array {
  if (name === PATCH_EMBED) return transpose2d(t.data, t.shape[0], t.data.length / t.shape[0]);
  if (isLinearWeight(name)) return transpose2d(t.data, t.shape[0], t.shape[1]);
  return t.data;
}

/** Our layout → the hub's. */
export function toHub(name: string, shape: readonly number[], data: Float32Array): Float32Array {
  if (name === PATCH_EMBED || isLinearWeight(name)) return transpose2d(data, shape[0], shape[1]);
  return data;
}
