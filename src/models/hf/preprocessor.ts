/**
 * CLIPImageProcessor (preprocessor_config.json) done with sharp, in transformers' order: convert to RGB
 * (alpha composited onto white), resize so the shortest edge is size.shortest_edge (the long edge
 * int(shortest_edge · long / short), as get_resize_output_image_size computes it; bicubic = sharp's
 * Catmull-Rom "cubic", PIL's a = −0.5), centre crop (top = (h − crop_h) // 2), rescale, normalise with
 * image_mean / image_std in float32 as numpy does, CHW. Settings it does not implement are refused.
 */
import sharp from 'sharp';
import { createHash } from 'node:crypto';
import { UserError } from '../../util/errors.ts';
import { type BatchImage } from '../../data/images.ts';
import { type TensorCache } from '../../data/tensor-cache.ts';

export interface ClipPreprocessor {
  /** Resize target of the shortest edge, or null for no resize. */
  shortestEdge: number | null;
  kernel: 'cubic' | 'linear';
  /** Centre-crop size (height, width), or null for none. */
  crop: { height: number; width: number } | null;
  rescale: number | null;
  mean: [number, number, number] | null;
  std: [number, number, number] | null;
}

export const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** CLIPImageProcessor's defaults at a vision tower's image size (a checkpoint without preprocessor_config.json). */
export function defaultPreprocessor(imageSize: number): ClipPreprocessor {
  return { shortestEdge: imageSize, kernel: 'cubic', crop: { height: imageSize, width: imageSize }, rescale: 1 / 255, mean: OPENAI_CLIP_MEAN, std: OPENAI_CLIP_STD };
}

const KNOWN = new Set([
  'do_resize', 'size', 'resample', 'do_center_crop', 'crop_size', 'do_rescale', 'rescale_factor', 'do_normalize', 'image_mean', 'image_std',
  'do_convert_rgb', 'image_processor_type', 'feature_extractor_type', 'processor_class', 'default_to_square', 'input_data_format', 'data_format',
]);

/**
 * Parse preprocessor_config.json; the crop must give the vision tower's `imageSize`.
 * @throws UserError for a setting that is not implemented.
 */
export function parsePreprocessor(raw: unknown, source: string, imageSize: number): ClipPreprocessor {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${source} is not a JSON object`);
  const c = raw as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!KNOWN.has(key)) throw new UserError(`${source}: key "${key}" is not supported by clearbench's CLIP image processor`);
  const type = c.image_processor_type ?? c.feature_extractor_type;
  if (type !== undefined && type !== 'CLIPImageProcessor' && type !== 'CLIPFeatureExtractor' && type !== 'CLIPImageProcessorFast') {
    throw new UserError(`${source}: image_processor_type ${JSON.stringify(type)} is not supported (CLIPImageProcessor)`);
  }
  if (c.do_convert_rgb === false) throw new UserError(`${source}: do_convert_rgb = false is not supported (images are converted to RGB)`);
  if (c.default_to_square === true) throw new UserError(`${source}: default_to_square = true is not supported (the shortest edge is resized)`);
  const flag = (k: string) => c[k] === undefined || c[k] === true;
  const side = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UserError(`${source}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  let shortestEdge: number | null = null;
  if (flag('do_resize')) {
    const s = c.size ?? { shortest_edge: 224 };
    const se = typeof s === 'number' ? s : (s as { shortest_edge?: unknown }).shortest_edge;
    if (se === undefined || (typeof s === 'object' && s && Object.keys(s).some((k) => k !== 'shortest_edge'))) {
      throw new UserError(`${source}: size ${JSON.stringify(s)} is not supported (only { shortest_edge })`);
    }
    shortestEdge = side(se, 'size.shortest_edge');
  }
  const resample = c.resample ?? 3;
  if (resample !== 3 && resample !== 2) throw new UserError(`${source}: resample ${JSON.stringify(resample)} is not supported (3 = bicubic, 2 = bilinear)`);
  let crop: ClipPreprocessor['crop'] = null;
  if (flag('do_center_crop')) {
    const s = c.crop_size ?? 224;
    crop = typeof s === 'number'
      ? { height: side(s, 'crop_size'), width: s }
      : { height: side((s as { height?: unknown }).height, 'crop_size.height'), width: side((s as { width?: unknown }).width, 'crop_size.width') };
  }
  const rescale = flag('do_rescale') ? (c.rescale_factor ?? 1 / 255) : null;
  if (rescale !== null && (typeof rescale !== 'number' || !(rescale > 0))) throw new UserError(`${source}: rescale_factor must be a positive number`);
  const triple = (v: unknown, what: string): [number, number, number] => {
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new UserError(`${source}: ${what} must be three numbers`);
    return v as [number, number, number];
  };
  const normalize = flag('do_normalize');
  const p: ClipPreprocessor = {
    shortestEdge, kernel: resample === 3 ? 'cubic' : 'linear', crop, rescale,
    mean: normalize ? triple(c.image_mean ?? OPENAI_CLIP_MEAN, 'image_mean') : null,
    std: normalize ? triple(c.image_std ?? OPENAI_CLIP_STD, 'image_std') : null,
  };
  if (!crop || crop.height !== imageSize || crop.width !== imageSize) {
    throw new UserError(`${source}: the processor must centre-crop to the vision tower's ${imageSize}×${imageSize} (crop_size ${JSON.stringify(c.crop_size ?? null)})`);
  }
  return p;
}

/** The resized size of (width, height) with the shortest edge at `s` (transformers' get_resize_output_image_size). */
export function shortestEdgeSize(width: number, height: number, s: number): { width: number; height: number } {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.floor((s * long) / short);
  return width <= height ? { width: s, height: newLong } : { width: newLong, height: s };
}

/** One image → pixel values [3, crop_h, crop_w] (CHW float32). */
export async function preprocessImage(bytes: Uint8Array, p: ClipPreprocessor): Promise<Float32Array> {
  let img = sharp(bytes, { failOn: 'error' }).flatten({ background: '#ffffff' }).toColourspace('srgb');
  const meta = await sharp(bytes, { failOn: 'error' }).metadata();
  let width = meta.width!;
  let height = meta.height!;
  if (p.shortestEdge !== null) {
    const to = shortestEdgeSize(width, height, p.shortestEdge);
    if (to.width !== width || to.height !== height) {
      img = sharp(await img.resize(to.width, to.height, { fit: 'fill', kernel: p.kernel }).removeAlpha().png().toBuffer());
      ({ width, height } = to);
    }
  }
  const crop = p.crop!;
  if (crop.width > width || crop.height > height) throw new UserError(`an image of ${width}×${height} is smaller than the ${crop.width}×${crop.height} crop; padding is not implemented`);
  const left = Math.floor((width - crop.width) / 2);
  const top = Math.floor((height - crop.height) / 2);
  const { data, info } = await img.extract({ left, top, width: crop.width, height: crop.height }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  const plane = crop.width * crop.height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = p.mean ? f(p.mean[c]) : 0;
    const std = p.std ? f(p.std[c]) : 1;
    for (let i = 0; i < plane; i++) {
      const v = p.rescale === null ? data[3 * i + c] : f(data[3 * i + c] * p.rescale);
      out[c * plane + i] = p.mean ? f(f(v - mean) / std) : v;
    }
  }
  return out;
}

/** A short key of the settings, for the tensor cache. */
export function preprocessorKey(p: ClipPreprocessor): string {
  return `clip-${createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 12)}`;
}

/** Many images, through the disk cache when given. */
export async function preprocessImages(images: readonly BatchImage[], p: ClipPreprocessor, cache?: TensorCache): Promise<Float32Array[]> {
  const n = 3 * p.crop!.height * p.crop!.width;
  const fit = preprocessorKey(p);
  return Promise.all(images.map(async (img, i) => {
    const key = cache?.key(img.bytes, p.crop!.height, fit);
    const hit = key ? cache!.get(key, n) : undefined;
    if (hit) return hit;
    let t: Float32Array;
    try {
      t = await preprocessImage(img.bytes, p);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot decode image ${img.source ?? `#${i}`}: ${(err as Error).message}; the dataset file is damaged, re-download or regenerate it`);
    }
    if (key) cache!.put(key, t);
    return t;
  }));
}
