/**
 * Runs one job spec inside a worker process: a training recipe, an unlearning run or an evaluation,
 * writing the model directory's files (checkpoint/, train_log.jsonl, meta.json) or the evaluation files.
 * The pipeline marks the stage done only after this returns and the worker exits cleanly.
 */
import { join } from 'node:path';
import { resolveCacheDir } from '../../data/cache-dir.ts';
import { evaluate } from '../../eval/evaluate.ts';
import { loadModel } from '../../eval/load-model.ts';
import { type BenchmarkSpec } from '../../eval/benchmark.ts';
import { MethodRegistry } from '../../methods/registry.ts';
import { runUnlearning } from '../../methods/run.ts';
import { runRecipe } from '../../train/run.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { getBenchmark } from '../../../benchmarks/index.ts';
import { type EvalJob, type JobSpec, type MetaDraft, type TrainJob, type UnlearnJob } from './spec.ts';

export type ProgressFn = (value: number, total: number, info: string) => void;

/** Where gold's own evaluation keeps the reference pass it is compared with. */
export const GOLD_REFERENCE_DIR = 'gold-reference';

function writeMeta(modelDir: string, meta: MetaDraft, wallS: number): void {
  writeFileAtomic(join(modelDir, 'meta.json'), `${JSON.stringify({ ...meta, wall_s: Math.round(wallS * 10) / 10 }, null, 2)}\n`);
}

async function train(j: TrainJob, progress: ProgressFn): Promise<void> {
  const s = await runRecipe({
    recipe: j.recipe, dataDir: j.dataDir, outDir: j.modelDir, from: j.from ?? undefined, preset: j.preset, vocabSize: j.vocabSize,
    split: j.split ?? undefined, modality: j.modality, epochs: j.epochs, lr: j.lr, batchSize: j.batchSize, replay: j.replay, seed: j.seed,
    onStep: (st) => progress(st.step, st.total_steps, `loss ${st.loss.toFixed(3)}`),
  });
  writeMeta(j.modelDir, j.meta, s.wallS);
}

async function unlearn(j: UnlearnJob, progress: ProgressFn): Promise<void> {
  const registry = await MethodRegistry.discover(j.plugins);
  const s = await runUnlearning({
    method: registry.get(j.method), hyperparameters: j.hyperparameters, from: j.from, dataDir: j.dataDir, split: j.split,
    modality: j.modality, outDir: j.modelDir, epochs: j.epochs, batchSize: j.batchSize, optimizer: j.optimizer,
    maxGradNorm: j.maxGradNorm, seed: j.seed, lora: j.lora, l1Lambda: j.l1Lambda, frozen: j.frozen,
    onStep: (st) => progress(st.step, st.total_steps, `${st.phase} loss ${st.loss.toFixed(3)}`),
  });
  writeMeta(j.modelDir, j.meta, s.wallS);
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

async function evaluateJob(j: EvalJob, progress: ProgressFn): Promise<void> {
  const bench = getBenchmark(j.benchmark);
  const model = await loadModel(j.modelDir);
  const total = bench.tasks.length;
  let done = 0;
  const common = {
    model, modelName: j.modelName, dataDir: j.dataDir, forgetSplit: j.split, dsSize: j.dsSize, maxNewTokens: j.maxNewTokens ?? undefined,
    seed: j.seed, truthRatio: j.truthRatio, batchSize: j.batchSize, generationBatchSize: j.batchSize,
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
    ...common, benchmark: bench, gold, outDir: j.outDir, relearn: j.relearn || undefined,
    onProgress: (m) => progress(Math.min(++done, total), total, m.split(':')[0]),
  });
}

export async function executeJob(spec: JobSpec, progress: ProgressFn): Promise<void> {
  switch (spec.kind) {
    case 'train':
      return train(spec, progress);
    case 'unlearn':
      return unlearn(spec, progress);
    case 'eval':
      return evaluateJob(spec, progress);
  }
}
