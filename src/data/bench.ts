/**
 * `bench data`: how long loading a CLEAR-scale config takes — read the parquet shard, then
 * decode, resize and normalise every image into the model's input tensor (no tensor cache).
 * CLEAR has ~3,800 images (200 persons × ~19); the target is ≤ 10 s on 2 cores.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from './synth/generate.ts';
import { openClear } from './dataset.ts';
import { imagesToTensor } from './images.ts';

export interface BenchDataOptions {
  persons?: number;
  imagesPerPerson?: number;
  /** model input side in pixels (the CLI passes the default model's) */
  size: number;
  /** measured repetitions; the median is reported */
  repeats?: number;
  /** reuse a generated dataset here instead of a temporary one */
  dir?: string;
  seed?: number;
}

export interface BenchDataResult {
  images: number;
  size: number;
  cores: number;
  generate_s: number | null;
  /** median over repeats */
  load_s: number;
  decode_s: number;
  total_s: number;
  images_per_s: number;
  runs: { load_s: number; decode_s: number }[];
  checksum: number;
}

export async function benchData(opts: BenchDataOptions): Promise<BenchDataResult> {
  const persons = opts.persons ?? 200;
  const perPerson = opts.imagesPerPerson ?? 19;
  const size = opts.size;
  const repeats = opts.repeats ?? 3;
  const temp = opts.dir ? undefined : mkdtempSync(join(tmpdir(), 'clearbench-bench-data-'));
  const dir = opts.dir ?? temp!;
  try {
    let generate_s: number | null = null;
    if (!existsSync(join(dir, 'full'))) {
      const t = performance.now();
      await generateSynthetic({ outDir: dir, persons, imagesPerPerson: perPerson, seed: opts.seed ?? 0 });
      generate_s = (performance.now() - t) / 1000;
    }
    const runs: { load_s: number; decode_s: number }[] = [];
    let images = 0;
    let checksum = 0;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const ds = await openClear(dir);
      const rows = await ds.loadConfig('full');
      const t1 = performance.now();
      const tensor = await imagesToTensor(rows.map((row, i) => ({ bytes: row.image.bytes, source: `full row ${i}` })), size);
      const t2 = performance.now();
      images = rows.length;
      // Touch the result so the work cannot be skipped, and to compare runs.
      checksum = 0;
      for (let i = 0; i < tensor.length; i += 97) checksum += tensor[i];
      runs.push({ load_s: (t1 - t0) / 1000, decode_s: (t2 - t1) / 1000 });
    }
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const totals = runs.map((r) => r.load_s + r.decode_s);
    const total_s = median(totals);
    return {
      images,
      size,
      cores: availableParallelism(),
      generate_s,
      load_s: median(runs.map((r) => r.load_s)),
      decode_s: median(runs.map((r) => r.decode_s)),
      total_s,
      images_per_s: images / total_s,
      runs,
      checksum,
    };
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
