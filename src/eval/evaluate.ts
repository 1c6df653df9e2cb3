/**
 * `evaluate()`: one model on one benchmark (docs/SPEC.md §4–§5). Per task it scores every answer teacher-forced
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
import { type TruthRatioCompat } from './metrics/index.ts';
import { type Model, Scorer } from './score.ts';
import { type BenchmarkSpec, type TaskSpec, configFor, taskById } from './benchmark.ts';
import { DEFAULT_FORGET_SPLIT, type ForgetSplit, TRUTH_RATIO_FORMS, checkForgetSplit } from '../protocol/vocabulary.ts';
import { type EvalItem, type TaskRow, type TaskSources, loadTaskRows, taskItems } from './task-data.ts';
import { type SampleRecord, type ScoredTask, type TaskSummary, memorisation, taskRecords } from './task-metrics.ts';
import { EvalTimer, generateTask, scoreGroundTruths, scoreTask } from './task-run.ts';
import { type ScoredAnswer } from './score.ts';
import { dataProvenanceOf } from '../data/provenance.ts';
import { type MiaRecord, miaAucs, miaScores, privleaks } from './privacy.ts';
import { type GoldEval, pairedGoldRatios, readGold } from './gold.ts';
import { type ForgetQuality, benchmarkUtility, forgetQuality, paperColumns } from './benchmark-scores.ts';
import { type RelearnSummary, relearnAttack } from './relearn.ts';
import { loadModel, locateModel } from './load-model.ts';
import { type EvalSummary } from '../results/contract.ts';
import { miaSamplesPath, summaryPath, taskSamplesPath } from '../results/layout.ts';

export interface EvaluateOptions {
  /** A loaded model, or a model directory (`<dir>/checkpoint/`) or checkpoint directory. */
  model: Model | string;
  /** summary.json `model` (default: the model directory's name, or null for an in-memory model). */
  modelName?: string | null;
  /** CLEAR-layout dataset directory; TOFU text tasks read `<dataDir>/tofu`. */
  dataDir: string;
  /** The benchmark definition (benchmarks/index.ts `getBenchmark` resolves a name). */
  benchmark: BenchmarkSpec;
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

export type { EvalSummary };

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

async function openSources(dataDir: string, b: BenchmarkSpec, model: Model, cacheDir?: string): Promise<TaskSources> {
  const { clear, tofu } = await openDataDir(dataDir);
  if (!tofu && b.tasks.some((t) => t.dataset === 'tofu')) {
    throw new UserError(`benchmark ${b.name} needs the TOFU text configs in ${join(dataDir, 'tofu')}, which does not exist; regenerate the data with clearbench synth or use --benchmark clear`);
  }
  return { clear, tofu, model, cache: cacheDir ? new TensorCache(cacheDir) : undefined };
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

/** The checked options every phase reads. */
interface EvalSettings {
  bench: BenchmarkSpec;
  split: ForgetSplit;
  seed: number;
  compat: TruthRatioCompat;
  fqTask: TaskSpec;
  gold: GoldEval | null;
}

/** What the phases run the model with. */
interface EvalSession {
  model: Model;
  sources: TaskSources;
  scorer: Scorer;
  generator: Generator;
  timer: EvalTimer;
}

/** Options and gold checked before any model work: a wrong --gold fails before the model is loaded. */
function checkSettings(opts: EvaluateOptions): EvalSettings {
  const bench = opts.benchmark;
  const split = checkForgetSplit(opts.forgetSplit ?? DEFAULT_FORGET_SPLIT);
  const seed = opts.seed ?? 0;
  const compat = opts.truthRatio ?? 'tofu';
  if (!TRUTH_RATIO_FORMS.includes(compat)) throw new UserError(`unknown truth-ratio form "${String(compat)}"; use ${TRUTH_RATIO_FORMS.join(' or ')}`);
  if (opts.dsSize !== undefined && !(Number.isInteger(opts.dsSize) && opts.dsSize >= 1)) throw new UserError(`--ds-size must be a positive integer, got ${opts.dsSize}`);
  const fqTask = taskById(bench, bench.forgetQualityTask);
  const gold = opts.gold ? readGold(opts.gold, { benchmark: bench.name, forgetSplit: split, task: fqTask.id, compat }) : null;
  return { bench, split, seed, compat, fqTask, gold };
}

function modelNameOf(opts: EvaluateOptions): string | null {
  if (opts.modelName !== undefined) return opts.modelName;
  return typeof opts.model === 'string' ? basename(resolve(locateModel(opts.model).modelDir)) : null;
}

/** Per task: score every answer teacher-forced, generate, and turn both into sample records and a task summary. */
async function runTasks(ses: EvalSession, st: EvalSettings, opts: EvaluateOptions, say: (m: string) => void): Promise<{ runs: Map<string, TaskRun>; maxNewTokens: Record<string, number> }> {
  const runs = new Map<string, TaskRun>();
  const maxNewTokens: Record<string, number> = {};
  for (const spec of st.bench.tasks) {
    const config = configFor(spec, st.split);
    const rows = await loadTaskRows(ses.sources, spec, config, opts.dsSize ?? spec.dsSize);
    const items = await taskItems(spec, config, rows, ses.sources, st.seed);
    const scored = await scoreTask(ses.scorer, spec, items, ses.timer);
    const gen = await generateTask(ses.generator, ses.model, items, { maxNewTokens: opts.maxNewTokens, batchSize: opts.generationBatchSize ?? 16 }, ses.timer);
    maxNewTokens[spec.id] = gen.maxNewTokens;
    const { records, summary } = taskRecords(spec, items, scored, gen.texts, st.compat);
    runs.set(spec.id, { spec, rows, items, scored, records, summary });
    say(`${spec.id}: ${items.length} samples (${config}), prob ${summary.prob.toFixed(3)}, ROUGE-L ${summary.rougeL_recall.toFixed(3)}, truth ratio ${summary.truth_ratio.toFixed(3)}`);
  }
  return { runs, maxNewTokens };
}

/** The reason privacy is null when the dataset has none of the benchmark's held-out configs. */
export const NO_HOLDOUT_REASON = 'no held-out persons in this dataset';

type Membership = { records: MiaRecord[]; reason: null } | { records: null; reason: string };

/** Membership inference: the member task's ground truths vs the never-seen persons of the first holdout config the dataset has. */
async function membershipRecords(ses: EvalSession, st: EvalSettings, member: TaskRun, opts: EvaluateOptions, say: (m: string) => void): Promise<Membership> {
  const candidates = st.bench.mia.holdoutConfigs.map((c) => configFor({ config: c }, st.split));
  const holdoutDs = datasetOf(ses.sources, member.spec);
  const cfgName = holdoutDs && candidates.find((c) => holdoutDs.configs().includes(c));
  if (!holdoutDs || !cfgName) {
    const reason = `${NO_HOLDOUT_REASON} (none of ${candidates.join(', ')})`;
    say(`membership inference skipped: ${reason}`);
    return { records: null, reason };
  }
  const rows = await loadTaskRows(ses.sources, member.spec, cfgName, opts.dsSize ?? member.spec.dsSize);
  const items = await taskItems(member.spec, cfgName, rows, ses.sources, st.seed, { gtOnly: true });
  const holdout = await scoreGroundTruths(ses.scorer, items, ses.timer);
  const records = [
    ...member.items.map((it, i): MiaRecord => ({ set: 'forget', index: it.index, prompt: it.question, answer: it.groundTruth, ...miaScores(member.scored.gt[i], it.groundTruth) })),
    ...items.map((it, i): MiaRecord => ({ set: 'holdout', index: it.index, prompt: it.question, answer: it.groundTruth, ...miaScores(holdout[i], it.groundTruth) })),
  ];
  return { records, reason: null };
}

/** The relearning attack on a copy of the model, timed. */
async function relearnPhase(ses: EvalSession, st: EvalSettings, runs: ReadonlyMap<string, TaskRun>, opts: EvaluateOptions & { relearn: number }, say: (m: string) => void): Promise<{ relearn: RelearnSummary; seconds: number }> {
  const t0 = performance.now();
  const tasks = st.bench.relearn.tasks.map((id) => runs.get(id)!);
  const relearn = await relearnAttack(
    ses.model,
    tasks[0].rows,
    tasks.map((t) => ({ spec: t.spec, items: t.items, losses: t.scored.losses })),
    ses.sources,
    st.compat,
    { steps: opts.relearn, lr: opts.relearnLr, seed: st.seed, threads: opts.threads, scoreBatchSize: opts.batchSize },
  );
  say(`relearn: ${relearn.steps} steps, forget prob ${relearn.forget_prob_before.toFixed(3)} → ${relearn.forget_prob_after.toFixed(3)} (recovery ${relearn.recovery.toFixed(3)})`);
  return { relearn, seconds: (performance.now() - t0) / 1000 };
}

/** FQ_KS and FQ_JS of the forget-quality task against gold's per-sample truth ratios (null without gold). */
function forgetQualityVsGold(gold: GoldEval | null, fqRun: TaskRun): ForgetQuality | null {
  if (!gold) return null;
  const goldRatios = pairedGoldRatios(gold, fqRun.items.map((it) => it.index));
  return forgetQuality(fqRun.records.map((r) => r.truth_ratio), goldRatios);
}

/** MIA AUCs of every attack and, with gold's AUCs, privleak (null when membership inference was skipped). */
function privacySummary(miaRecords: MiaRecord[] | null, gold: GoldEval | null): EvalSummary['privacy'] {
  if (!miaRecords) return null;
  const auc = miaAucs(miaRecords);
  const leaks = gold?.miaAuc ? privleaks(auc, gold.miaAuc) : null;
  return {
    privleak: leaks ? leaks.min_k : null,
    mia_auc: auc,
    privleak_by_attack: leaks,
    n_forget: miaRecords.filter((r) => r.set === 'forget').length,
    n_holdout: miaRecords.filter((r) => r.set === 'holdout').length,
  };
}

/** Extraction strength and exact memorisation: means over the extraction task's ground truths. */
function extractionSummary(ext: TaskRun): NonNullable<EvalSummary['extraction']> {
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  return {
    extraction_strength: mean(ext.scored.gtHits.map((h) => memorisation(h).extraction_strength)),
    exact_memorization: mean(ext.scored.gtHits.map((h) => memorisation(h).exact_memorization)),
    task: ext.spec.id,
  };
}

/** Per-sample files first, the summary last: a summary.json always describes complete sample files. */
function writeEvalFiles(outDir: string, runs: ReadonlyMap<string, TaskRun>, miaRecords: MiaRecord[] | null, summary: EvalSummary): void {
  for (const [id, r] of runs) writeFileAtomic(taskSamplesPath(outDir, id), json(r.records));
  // An earlier run's membership scores would contradict this summary when this run has none.
  if (miaRecords) writeFileAtomic(miaSamplesPath(outDir), json(miaRecords));
  else rmSync(miaSamplesPath(outDir), { force: true });
  writeFileAtomic(summaryPath(outDir), json(summary));
}

export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
  const st = checkSettings(opts);
  const { bench } = st;

  const model = await resolveModel(opts.model);
  const modelName = modelNameOf(opts);
  const sources = await openSources(opts.dataDir, bench, model, opts.cacheDir);
  const ses: EvalSession = {
    model,
    sources,
    timer: new EvalTimer(),
    scorer: new Scorer(model, opts.threads, opts.batchSize ?? 16),
    generator: new Generator(model, { threads: opts.threads }),
  };
  let runs: Map<string, TaskRun>;
  let maxNewTokens: Record<string, number>;
  let membership: Membership;
  let relearn: RelearnSummary | null = null;
  let relearnS = 0;
  try {
    ({ runs, maxNewTokens } = await runTasks(ses, st, opts, say));
    membership = await membershipRecords(ses, st, runs.get(bench.mia.memberTask)!, opts, say);
    if (opts.relearn) ({ relearn, seconds: relearnS } = await relearnPhase(ses, st, runs, { ...opts, relearn: opts.relearn }, say));
  } finally {
    await ses.scorer.release();
    await ses.generator.release();
  }

  const tasks = Object.fromEntries([...runs].map(([id, r]) => [id, r.summary]));
  const fq = forgetQualityVsGold(st.gold, runs.get(st.fqTask.id)!);
  const ratios = Object.fromEntries([...runs].map(([id, r]) => [id, r.records.map((x) => x.truth_ratio)]));
  const summary: EvalSummary = {
    benchmark: bench.name,
    forget_split: st.split,
    model: modelName,
    tasks,
    model_utility: benchmarkUtility(bench, tasks),
    forget_quality_ks: fq ? fq.ks : null,
    forget_quality_js: fq ? fq.js : null,
    paper: paperColumns(bench, tasks, ratios, fq),
    privacy: privacySummary(membership.records, st.gold),
    privacy_reason: membership.reason,
    extraction: extractionSummary(runs.get(bench.extractionTask)!),
    relearn,
    truth_ratio_compat: st.compat,
    seed: st.seed,
    max_new_tokens: maxNewTokens,
    data: dataProvenanceOf(opts.dataDir, sources.clear),
  };
  const timing: EvalTiming = {
    scoring_s: round3(ses.timer.scoring_s),
    generation_s: round3(ses.timer.generation_s),
    relearn_s: round3(relearnS),
    total_s: round3((performance.now() - t0) / 1000),
  };
  writeEvalFiles(opts.outDir, runs, membership.records, summary);
  return { summary, timing, outDir: opts.outDir };
}
