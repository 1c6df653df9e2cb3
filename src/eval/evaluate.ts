/**
 * `evaluate()`: one model on one benchmark (SPEC §4–§5). Per task it scores every answer teacher-forced
 * (batched) and generates greedily (KV cache, image in the input), then writes `<task>.samples.json`,
 * `mia.samples.json` and, last, `summary.json` into the output directory (README "Evaluation output
 * format"). Same model, data, options and seed → byte-identical files; the wall-clock timing is returned
 * (and printed by `clearbench eval`), not written.
 */
import { rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { openDataDir } from '../data/dataset.ts';
import { type Dataset } from '../data/dataset.ts';
import { TensorCache } from '../data/tensor-cache.ts';
import { Generator } from '../models/generate.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { getBenchmark } from '../../benchmarks/index.ts';
import { type TruthRatioCompat } from './metrics/index.ts';
import { type Model, Scorer } from './score.ts';
import { type BenchmarkSpec, type ForgetSplit, type TaskSpec, checkForgetSplit, configFor, taskById } from './benchmark.ts';
import { type EvalItem, type TaskRow, type TaskSources, loadTaskRows, taskItems } from './task-data.ts';
import { type SampleRecord, type ScoredTask, type TaskSummary, memorisation, taskRecords } from './task-metrics.ts';
import { EvalTimer, generateTask, scoreGroundTruths, scoreTask } from './task-run.ts';
import { type ScoredAnswer } from './score.ts';
import { type MiaRecord, type MiaScores, miaAucs, miaScores, privleaks } from './privacy.ts';
import { pairedGoldRatios, readGold } from './gold.ts';
import { type ForgetQuality, type PaperColumns, benchmarkUtility, forgetQuality, paperColumns } from './aggregates.ts';
import { type RelearnSummary, relearnAttack } from './relearn.ts';
import { loadModel, locateModel } from './load-model.ts';

export interface EvaluateOptions {
  /** A loaded model, or a model directory (`<dir>/checkpoint/`) or checkpoint directory. */
  model: Model | string;
  /** summary.json `model` (default: the model directory's name, or null for an in-memory model). */
  modelName?: string | null;
  /** CLEAR-layout dataset directory; TOFU text tasks read `<dataDir>/tofu`. */
  dataDir: string;
  benchmark: string | BenchmarkSpec;
  /** Default forget10. */
  forgetSplit?: string;
  /** The gold model's evaluation directory (same benchmark and split): forget quality and privleak. */
  gold?: string;
  outDir: string;
  /** Cap every task at this many rows (default: each task's ds_size, 300). */
  dsSize?: number;
  /** Generation budget (default: 300, or what the longest prompt of the task leaves of the model's positions). */
  maxNewTokens?: number;
  /** Seeds the caption questions and the relearning attack (default 0). */
  seed?: number;
  truthRatio?: TruthRatioCompat;
  /** Relearning attack: optimiser steps (0 or undefined: skipped). */
  relearn?: number;
  relearnLr?: number;
  threads?: number;
  /** Rows per teacher-forced scoring batch (default 16) and per generation batch (default 16). */
  batchSize?: number;
  generationBatchSize?: number;
  /** Decoded-image tensor cache directory (default none). */
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

export interface EvalSummary {
  benchmark: string;
  forget_split: ForgetSplit;
  model: string | null;
  tasks: Record<string, TaskSummary>;
  model_utility: number;
  forget_quality_ks: number | null;
  forget_quality_js: number | null;
  paper: PaperColumns;
  privacy: {
    privleak: number | null;
    mia_auc: MiaScores;
    privleak_by_attack: Record<keyof MiaScores, number | null> | null;
    n_forget: number;
    n_holdout: number;
  } | null;
  extraction: { extraction_strength: number; exact_memorization: number; task: string } | null;
  relearn: RelearnSummary | null;
  truth_ratio_compat: TruthRatioCompat;
  seed: number;
  max_new_tokens: Record<string, number>;
}

/** Wall-clock seconds of one evaluation: returned and printed, never written (the files stay reproducible). */
export interface EvalTiming {
  scoring_s: number;
  generation_s: number;
  relearn_s: number;
  total_s: number;
}

export interface EvaluateResult {
  summary: EvalSummary;
  timing: EvalTiming;
  outDir: string;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const round3 = (s: number) => Math.round(s * 1000) / 1000;

async function resolveModel(model: Model | string): Promise<Model> {
  return typeof model === 'string' ? loadModel(model) : model;
}

async function openSources(dataDir: string, b: BenchmarkSpec, imageSize: number, cacheDir?: string): Promise<TaskSources> {
  const { clear, tofu } = await openDataDir(dataDir);
  if (!tofu && b.tasks.some((t) => t.dataset === 'tofu')) {
    throw new UserError(`benchmark ${b.name} needs the TOFU text configs in ${join(dataDir, 'tofu')}, which does not exist; regenerate the data with clearbench synth or use --benchmark clear`);
  }
  return { clear, tofu, imageSize, cache: cacheDir ? new TensorCache(cacheDir) : undefined };
}

function datasetOf(sources: TaskSources, task: TaskSpec): Dataset | null {
  return task.dataset === 'clear' ? sources.clear : sources.tofu;
}

interface TaskRun {
  spec: TaskSpec;
  rows: TaskRow[];
  items: EvalItem[];
  scored: ScoredTask & { gt: ScoredAnswer[] };
  records: SampleRecord[];
  summary: TaskSummary;
}

export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
  const bench = typeof opts.benchmark === 'string' ? getBenchmark(opts.benchmark) : opts.benchmark;
  const split = checkForgetSplit(opts.forgetSplit ?? 'forget10');
  const seed = opts.seed ?? 0;
  const compat = opts.truthRatio ?? 'tofu';
  if (compat !== 'tofu' && compat !== 'clear-code') throw new UserError(`unknown truth-ratio form "${String(compat)}"; use tofu or clear-code`);
  if (opts.dsSize !== undefined && !(Number.isInteger(opts.dsSize) && opts.dsSize >= 1)) throw new UserError(`--ds-size must be a positive integer, got ${opts.dsSize}`);
  const fqTask = taskById(bench, bench.forgetQualityTask);
  // Read gold first: a wrong --gold fails before any model work.
  const gold = opts.gold ? readGold(opts.gold, { benchmark: bench.name, forgetSplit: split, task: fqTask.id, compat }) : null;

  const model = await resolveModel(opts.model);
  const modelName = opts.modelName !== undefined ? opts.modelName : typeof opts.model === 'string' ? basename(resolve(locateModel(opts.model).modelDir)) : null;
  const sources = await openSources(opts.dataDir, bench, model.cfg.vision.imageSize, opts.cacheDir);
  const timer = new EvalTimer();
  const scorer = new Scorer(model, opts.threads, opts.batchSize ?? 16);
  const generator = new Generator(model.store, model.cfg, { threads: opts.threads });
  const runs = new Map<string, TaskRun>();
  const maxNewTokens: Record<string, number> = {};
  let miaRecords: MiaRecord[] | null = null;
  let relearn: RelearnSummary | null = null;
  let relearnS = 0;
  try {
    for (const spec of bench.tasks) {
      const config = configFor(spec, split);
      const rows = await loadTaskRows(sources, spec, config, opts.dsSize ?? spec.dsSize);
      const items = await taskItems(spec, config, rows, sources, seed);
      const scored = await scoreTask(scorer, spec, items, timer);
      const gen = await generateTask(generator, model, items, { maxNewTokens: opts.maxNewTokens, batchSize: opts.generationBatchSize ?? 16 }, timer);
      maxNewTokens[spec.id] = gen.maxNewTokens;
      const { records, summary } = taskRecords(spec, items, scored, gen.texts, compat);
      runs.set(spec.id, { spec, rows, items, scored, records, summary });
      say(`${spec.id}: ${items.length} samples (${config}), prob ${summary.prob.toFixed(3)}, ROUGE-L ${summary.rougeL_recall.toFixed(3)}, truth ratio ${summary.truth_ratio.toFixed(3)}`);
    }

    // Membership inference: the member task's ground truths vs the never-seen persons of the holdout config.
    const member = runs.get(bench.mia.memberTask)!;
    const holdoutDs = datasetOf(sources, member.spec);
    if (holdoutDs && holdoutDs.configs().includes(bench.mia.holdoutConfig)) {
      const cfgName = bench.mia.holdoutConfig;
      const rows = await loadTaskRows(sources, member.spec, cfgName, opts.dsSize ?? member.spec.dsSize);
      const items = await taskItems(member.spec, cfgName, rows, sources, seed, { gtOnly: true });
      const holdout = await scoreGroundTruths(scorer, items, timer);
      miaRecords = [
        ...member.items.map((it, i): MiaRecord => ({ set: 'forget', index: it.index, prompt: it.question, answer: it.groundTruth, ...miaScores(member.scored.gt[i], it.groundTruth) })),
        ...items.map((it, i): MiaRecord => ({ set: 'holdout', index: it.index, prompt: it.question, answer: it.groundTruth, ...miaScores(holdout[i], it.groundTruth) })),
      ];
    } else {
      say(`membership inference skipped: the dataset has no ${bench.mia.holdoutConfig} config (persons never trained on)`);
    }

    if (opts.relearn) {
      const tr = performance.now();
      const tasks = bench.relearn.tasks.map((id) => runs.get(id)!);
      relearn = await relearnAttack(
        model,
        tasks[0].rows,
        tasks.map((t) => ({ spec: t.spec, items: t.items, losses: t.scored.losses })),
        sources,
        compat,
        { steps: opts.relearn, lr: opts.relearnLr, seed, threads: opts.threads, scoreBatchSize: opts.batchSize },
      );
      relearnS = (performance.now() - tr) / 1000;
      say(`relearn: ${relearn.steps} steps, forget prob ${relearn.forget_prob_before.toFixed(3)} → ${relearn.forget_prob_after.toFixed(3)} (recovery ${relearn.recovery.toFixed(3)})`);
    }
  } finally {
    await scorer.release();
    await generator.release();
  }

  const tasks = Object.fromEntries([...runs].map(([id, r]) => [id, r.summary]));
  const fqRun = runs.get(fqTask.id)!;
  let fq: ForgetQuality | null = null;
  if (gold) {
    const goldRatios = pairedGoldRatios(gold, fqRun.items.map((it) => it.index));
    fq = forgetQuality(fqRun.records.map((r) => r.truth_ratio), goldRatios);
  }
  let privacy: EvalSummary['privacy'] = null;
  if (miaRecords) {
    const auc = miaAucs(miaRecords);
    const leaks = gold?.miaAuc ? privleaks(auc, gold.miaAuc) : null;
    privacy = {
      privleak: leaks ? leaks.min_k : null,
      mia_auc: auc,
      privleak_by_attack: leaks,
      n_forget: miaRecords.filter((r) => r.set === 'forget').length,
      n_holdout: miaRecords.filter((r) => r.set === 'holdout').length,
    };
  }
  const ext = runs.get(bench.extractionTask)!;
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  const extraction = {
    extraction_strength: mean(ext.scored.gtHits.map((h) => memorisation(h).extraction_strength)),
    exact_memorization: mean(ext.scored.gtHits.map((h) => memorisation(h).exact_memorization)),
    task: ext.spec.id,
  };

  const summary: EvalSummary = {
    benchmark: bench.name,
    forget_split: split,
    model: modelName,
    tasks,
    model_utility: benchmarkUtility(bench, tasks),
    forget_quality_ks: fq ? fq.ks : null,
    forget_quality_js: fq ? fq.js : null,
    paper: paperColumns(bench, tasks, fq),
    privacy,
    extraction,
    relearn,
    truth_ratio_compat: compat,
    seed,
    max_new_tokens: maxNewTokens,
  };
  const timing: EvalTiming = {
    scoring_s: round3(timer.scoring_s),
    generation_s: round3(timer.generation_s),
    relearn_s: round3(relearnS),
    total_s: round3((performance.now() - t0) / 1000),
  };

  // Per-sample files first, the summary last: a summary.json always describes complete sample files.
  for (const [id, r] of runs) writeFileAtomic(join(opts.outDir, `${id}.samples.json`), json(r.records));
  // An earlier run's membership scores would contradict this summary when this run has none.
  if (miaRecords) writeFileAtomic(join(opts.outDir, 'mia.samples.json'), json(miaRecords));
  else rmSync(join(opts.outDir, 'mia.samples.json'), { force: true });
  writeFileAtomic(join(opts.outDir, 'summary.json'), json(summary));
  return { summary, timing, outDir: opts.outDir };
}
