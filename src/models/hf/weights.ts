/**
 * Weights in the hub's layout: `model.safetensors`, or shards `model-0000N-of-0000M.safetensors` named by
 * `model.safetensors.index.json`'s weight_map. F32, F16 and BF16 tensors load as float32. Saving writes F32
 * tensors under the same names and layout ([out, in] projections), sharded like the hub when large.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../util/errors.ts';
import { type F32Tensor, type StoredTensor, readSafetensors, serializeSafetensors } from '../safetensors.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** IEEE half → float32. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A stored tensor's values as float32 (exact for F16 and BF16). */
export function toFloat32(t: StoredTensor, name: string, source: string): Float32Array {
  const n = t.bytes.byteLength;
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, n / 4).slice();
    case 'BF16': {
      const src = new Uint16Array(t.bytes.buffer, t.bytes.byteOffset, n / 2);
      const out = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(t.bytes.buffer, t.bytes.byteOffset, n / 2);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    default:
      throw new UserError(`${source}: tensor ${name} has dtype ${t.dtype}; only F32, F16 and BF16 weights are supported`);
  }
}

export interface HubTensor {
  shape: number[];
  data: Float32Array;
  dtype: string;
}

/** The files holding the weights: the index's shards in order, or the single file. */
export function weightFiles(dir: string): { files: string[]; sharded: boolean } {
  const index = join(dir, INDEX_FILE);
  if (existsSync(index)) {
    let map: unknown;
    try {
      map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (err) {
      throw new UserError(`${index} is not valid JSON (${(err as Error).message})`);
    }
    if (!map || typeof map !== 'object') throw new UserError(`${index} has no weight_map object`);
    const files = [...new Set(Object.values(map as Record<string, string>))];
    for (const f of files) if (typeof f !== 'string' || f.includes('/') || f.includes('\\')) throw new UserError(`${index}: shard name ${JSON.stringify(f)} is not a file name`);
    return { files: files.sort(), sharded: true };
  }
  if (existsSync(join(dir, SINGLE_FILE))) return { files: [SINGLE_FILE], sharded: false };
  throw new UserError(`${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}; download the model's weights`);
}

/** Every tensor of the checkpoint by hub name, as float32. */
export function readHubWeights(dir: string): Map<string, HubTensor> {
  const out = new Map<string, HubTensor>();
  for (const f of weightFiles(dir).files) {
    const path = join(dir, f);
    for (const [name, t] of readSafetensors(path).tensors) {
      if (out.has(name)) throw new UserError(`${path}: tensor ${name} appears in two shards`);
      out.set(name, { shape: t.shape, data: toFloat32(t, name, path), dtype: t.dtype });
    }
  }
  return out;
}

/** Shard size when saving (the hub's default max_shard_size is 5 GB; ours stays well under 2 GiB buffers). */
export const SAVE_SHARD_BYTES = 1 << 30;

/**
 * The files of a saved checkpoint: one model.safetensors, or shards plus the index when the weights exceed
 * `shardBytes` (the names and index as save_pretrained writes them).
 */
export function hubWeightFiles(tensors: readonly F32Tensor[], shardBytes = SAVE_SHARD_BYTES): Map<string, Uint8Array | string> {
  const shards: F32Tensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.data.byteLength;
    if (size > 0 && size + bytes > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  const files = new Map<string, Uint8Array | string>();
  const meta = { format: 'pt' };
  if (shards.length === 1) {
    files.set(SINGLE_FILE, serializeSafetensors(tensors, meta));
    return files;
  }
  const M = String(shards.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((s, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${M}.safetensors`;
    files.set(name, serializeSafetensors(s, meta));
    for (const t of s) {
      weightMap[t.name] = name;
      total += t.data.byteLength;
    }
  });
  files.set(INDEX_FILE, `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
  return files;
}

/** Row-major [rows, cols] → [cols, rows]. */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) {
    const r = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[r + j];
  }
  return out;
}
