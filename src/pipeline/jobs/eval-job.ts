/**
 * The evaluation job: one model on one benchmark and forget split, with the run config's evaluation
 * settings; gold's own evaluation first scores the reference its forget quality is measured against.
 */
import { join } from 'node:path';
import { resolveCacheDir } from '../../data/cache-dir.ts';
import { evaluate } from '../../eval/evaluate.ts';
import { loadModel } from '../../eval/load-model.ts';
import { type BenchmarkSpec } from '../../eval/benchmark.ts';
import { type ForgetSplit } from '../../protocol/vocabulary.ts';
import { getBenchmark } from '../../../benchmarks/index.ts';
import { type PipelineConfig } from '../config/schema.ts';

/** Where gold's own evaluation keeps the reference pass it is compared with. */
export const GOLD_REFERENCE_DIR = 'gold-reference';

/** The evaluation settings are the run config's `eval` section (defined once, in the schema), less the benchmark list. */
export type EvalSettings = Omit<PipelineConfig['eval'], 'benchmarks'>;

export interface EvalParams {
  modelDir: string;
  modelName: string;
  dataDir: string;
  /** A benchmark name (benchmarks/index.ts). */
  benchmark: string;
  split: ForgetSplit;
  /** Gold's evaluation directory, or 'self' for the gold model itself (forget quality against its own evaluation). */
  gold: string | 'self';
  outDir: string;
  settings: EvalSettings;
}

/**
 * The part of a benchmark that gold's forget quality against itself needs: the forget-quality task (its
 * per-sample truth ratios) and the membership-inference member task (its AUCs), under the same name.
 */
export function goldReferenceSpec(b: BenchmarkSpec): BenchmarkSpec {
  const fq = b.forgetQualityTask;
  const keep = new Set([fq, b.mia.memberTask]);
  return {
    ...b,
    tasks: b.tasks.filter((t) => keep.has(t.id)),
    utilityTasks: [fq],
    paper: { real: [fq], retain: [fq], forget: [fq] },
    extractionTask: b.mia.memberTask,
    relearn: { tasks: [fq] },
  };
}

export async function runEvalJob(j: EvalParams, progress: (value: number, total: number, info: string) => void): Promise<void> {
  const bench = getBenchmark(j.benchmark);
  const model = await loadModel(j.modelDir);
  const total = bench.tasks.length;
  let done = 0;
  const s = j.settings;
  const common = {
    model, modelName: j.modelName, dataDir: j.dataDir, forgetSplit: j.split, dsSize: s.ds_size, maxNewTokens: s.max_new_tokens ?? undefined,
    seed: s.seed, truthRatio: s.truth_ratio, batchSize: s.batch_size, generationBatchSize: s.batch_size,
    cacheDir: join(resolveCacheDir(), 'tensors'),
  };
  let gold = j.gold;
  if (gold === 'self') {
    // Gold's forget quality is against its own evaluation: score the tasks it needs once, then compare.
    gold = join(j.outDir, GOLD_REFERENCE_DIR);
    progress(0, total, 'gold reference');
    await evaluate({ ...common, benchmark: goldReferenceSpec(bench), outDir: gold });
  }
  await evaluate({
    ...common, benchmark: bench, gold, outDir: j.outDir, relearn: s.relearn_steps || undefined,
    onProgress: (m) => progress(Math.min(++done, total), total, m.split(':')[0]),
  });
}
