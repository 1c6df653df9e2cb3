/**
 * `runPipeline`: config → validation of everything (schema, methods, hyperparameters, benchmarks) before
 * any work → plan → (dry run: print it) → run directory claimed (ours, locked) → resolved config saved →
 * stages run or reused → reports → lock released.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { getBenchmark } from '../../benchmarks/index.ts';
import { MethodRegistry } from '../methods/registry.ts';
import { DATA_DIR, EXPECTED_RESULTS_FILE, RESOLVED_CONFIG, dataProvenancePath } from '../results/layout.ts';
import { type DataProvenance, baseNote, readDataProvenance } from '../results/contract.ts';
import { baseDataOf } from '../data/provenance.ts';
import { resolveCacheDir } from '../data/cache-dir.ts';
import { type RepoContents, repoContents } from '../data/hub/download.ts';
import { type RepoNeeds, dataNeeds } from './data-needs.ts';
import { formatBytes, selectConfigs } from './jobs/data-job.ts';
import { type JobOf } from './jobs/spec.ts';
import { type ReportPaths, writeReports } from '../report/write-reports.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { type LoadedConfig, loadConfig } from './config/load.ts';
import { type PipelineConfig } from './config/schema.ts';
import { type RunDisplay, runDisplay } from './console.ts';
import { type Executor } from './executor.ts';
import { LocalExecutor } from './local-executor.ts';
import { sourceHash } from './keys.ts';
import { checkStageDirs, isDone, tidyRunDir } from './markers.ts';
import { type Plan, type Stage, buildPlan } from './plan.ts';
import { RESOLVED_HEADER, claimRunDir, runDirState } from './run-dir.ts';
import { type Outcome, Scheduler } from './scheduler.ts';
import { expandMethods } from './sweep.ts';
import { describeHolder } from '../util/pid-lock.ts';
import { UserError } from '../util/errors.ts';
import { type ExecutorName } from './config/schema.ts';
import { type Submitted, submitPlan, watchRun } from './slurm/submit.ts';
import { refuseLiveSlurmJobs } from './slurm/live.ts';
import { TOKEN_VARIABLES } from './slurm/sbatch.ts';

export { RESOLVED_CONFIG };

export interface RunOptions {
  config: string;
  sets?: readonly string[];
  /** Run directory (default runs/<config name>, relative to the working directory). */
  out?: string;
  /** Concurrent jobs (default: the config's `jobs`). */
  jobs?: number;
  dryRun?: boolean;
  display?: RunDisplay;
  /** Where the plan, the leaderboard and the report paths go (default stdout). */
  print?: (text: string) => void;
  /** Stop workers on SIGINT/SIGTERM (the CLI sets this). */
  handleSignals?: boolean;
  /** Where the stages' jobs run (default: worker processes on this machine). */
  executor?: Executor;
  /** The executor by name (`--executor`; default: the config's `executor`), used when `executor` is not given. */
  executorName?: ExecutorName;
  /** Slurm only: return once every job is submitted instead of watching them (`--detach`). */
  detach?: boolean;
  /** Slurm only: how often an attached run polls the queue (default 5 s). */
  pollMs?: number;
}

export interface RunResult {
  runDir: string;
  config: PipelineConfig;
  plan: Plan;
  /** Absent for a dry run. */
  outcome?: Outcome;
  reports?: ReportPaths;
  interrupted?: boolean;
  /** A Slurm run: what was submitted (with --detach the run returns once it is). */
  slurm?: Submitted;
  detached?: boolean;
}

export interface PreparedRun {
  loaded: LoadedConfig;
  plan: Plan;
  jobs: number;
  threads: number;
}

/** Loads and validates the config and builds the plan; throws before any work on any config error. */
export async function prepareRun(o: Pick<RunOptions, 'config' | 'sets' | 'out' | 'jobs'>): Promise<PreparedRun> {
  const loaded = loadConfig(o.config, { sets: o.sets });
  const { config } = loaded;
  let registry: MethodRegistry;
  try {
    registry = await MethodRegistry.discover(config.plugins);
  } catch (err) {
    throw loaded.error(['plugins'], (err as Error).message);
  }
  config.eval.benchmarks.forEach((b, i) => {
    try {
      getBenchmark(b);
    } catch (err) {
      throw loaded.error(['eval', 'benchmarks', i], (err as Error).message);
    }
  });
  const points = expandMethods(loaded, registry);
  const sources = new Map(registry.entries().map((e) => [e.def.name, e.source]));
  const runDir = resolve(o.out ?? join('runs', config.name));
  const plan = buildPlan(config, runDir, points, (name) => sourceHash(sources.get(name)!));
  const jobs = o.jobs ?? config.jobs;
  const threads = config.threads ?? Math.max(1, Math.floor(availableParallelism() / jobs));
  return { loaded, plan, jobs, threads };
}

/** The order stages would run in with one job: ready stages by priority, ties in plan order. */
export function estimatedOrder(plan: Plan, pending: ReadonlySet<string>): Stage[] {
  const left = plan.stages.filter((s) => pending.has(s.id));
  const finished = new Set(plan.stages.filter((s) => !pending.has(s.id)).map((s) => s.id));
  const order: Stage[] = [];
  while (left.length) {
    let best = -1;
    left.forEach((s, i) => {
      if (s.deps.every((d) => finished.has(d)) && (best < 0 || s.priority > left[best].priority)) best = i;
    });
    const [s] = left.splice(best, 1);
    order.push(s);
    finished.add(s.id);
  }
  return order;
}

/** A repo's contents at a revision, or why they cannot be read now (offline, no such revision). */
async function contentsOrWhy(repo: string, revision: string, hub: { cacheDir: string; hubUrl?: string }): Promise<RepoContents | string> {
  try {
    return await repoContents({ repo, revision, ...hub });
  } catch (err) {
    return (err as Error).message;
  }
}

/** One repo's part of the download plan: the configs the run reads, with sizes where the listing gives them. */
function repoPlan(repo: string, revision: string, contents: RepoContents | string, needs: RepoNeeds): string[] {
  if (typeof contents === 'string') {
    return [`  ${repo}@${revision}: ${needs.required.length} configs (+ ${needs.optional.length} if present), sizes unknown: the card could not be read (${contents})`, `    ${needs.required.join(', ')}`];
  }
  const byName = new Map(contents.configs.map((c) => [c.name, c]));
  const { take, missing } = selectConfigs(contents, needs);
  const total = take.reduce((a, c) => a + byName.get(c)!.bytes, 0);
  return [
    `  ${repo}@${revision} (commit ${contents.commit.slice(0, 12)}): ${take.length} of ${contents.configs.length} configs, ${formatBytes(total)}`,
    ...take.sort().map((c) => `    ${c.padEnd(24)} ${formatBytes(byName.get(c)!.bytes).padStart(9)}  ${byName.get(c)!.files.length} file(s)`),
    ...(missing.length ? [`    missing at this revision (the run would stop here): ${missing.join(', ')}`] : []),
  ];
}

/** What a hub run would download, before any large file: per repo the configs the plan reads and their sizes. */
export async function formatDownloadPlan(p: PreparedRun): Promise<string> {
  const { config } = p.loaded;
  if (config.data.source !== 'hub') return '';
  const h = config.data.hub;
  const hub = { cacheDir: resolveCacheDir(h.cache_dir ?? undefined), hubUrl: h.hub_url ?? undefined };
  const { needs: planned } = p.plan.stages.find((s) => s.kind === 'data')!.spec as JobOf<'data'>;
  const clear = await contentsOrWhy(h.repo, h.revision, hub);
  const tofu = h.tofu_repo ? await contentsOrWhy(h.tofu_repo, h.tofu_revision, hub) : null;
  // The base's data follows the card, as in the data stage; unread, the plan lists emulated pretraining's configs.
  const base = typeof clear === 'string' ? null : baseDataOf(clear.configs.map((c) => c.name));
  const needs = dataNeeds({ ...planned, tofu: h.tofu_repo !== null, base: base ?? 'emulated' });
  const lines = ['download plan (only the configs this run reads):', ...repoPlan(h.repo, h.revision, clear, needs.clear)];
  if (h.tofu_repo && tofu !== null && needs.tofu) lines.push(...repoPlan(h.tofu_repo, h.tofu_revision, tofu, needs.tofu));
  const { baseModel } = p.plan.stages.find((s) => s.kind === 'data')!.spec as JobOf<'data'>;
  lines.push(`  ${base || baseModel ? baseNote({ base_data: base ?? 'emulated', base_model: baseModel }) : 'base: emulated pretraining on the utility sets unless the card has a pretrain config'}`);
  return `${lines.join('\n')}\n`;
}

export function formatPlan(p: PreparedRun): string {
  const { plan } = p;
  const cached = plan.stages.filter((s) => isDone(s));
  const pending = new Set(plan.stages.filter((s) => !cached.includes(s)).map((s) => s.id));
  const lines = [
    `run ${p.loaded.config.name} → ${plan.runDir}`,
    `${plan.stages.length} stages: ${cached.length} cached, ${pending.size} to run (${p.jobs} job${p.jobs === 1 ? '' : 's'} at a time, ${p.threads} thread${p.threads === 1 ? '' : 's'} each)`,
    ...cached.map((s) => `  cached  ${s.label}`),
    ...estimatedOrder(plan, pending).map((s, i) => `  ${String(i + 1).padStart(5)}.  ${s.label}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Comment lines saying what the data stage resolved: each repo's commit and what the base trains on. */
export function provenanceComment(p: DataProvenance): string {
  const repos = [p.clear, p.tofu].filter((r) => r !== null).map((r) => `#   ${r.repo}@${r.revision} = commit ${r.commit} (${r.configs.length} configs: ${r.configs.join(', ')})`);
  const data = p.source === 'hub' ? ['# data (resolved by the data stage; pin these commits in data.hub to reproduce exactly):', ...repos] : [`# data: ${p.source}`];
  return [...data, `# ${baseNote(p)}`].join('\n');
}

/** The resolved config as saved with a run: a header naming its sources, then (once known) the data's provenance, then every key with its value. */
export function resolvedYaml(loaded: LoadedConfig, sets: readonly string[], provenance?: DataProvenance): string {
  const from = [`${RESOLVED_HEADER}${loaded.file}`, ...sets.map((s) => `#   --set ${s}`), ...(provenance ? [provenanceComment(provenance)] : [])].join('\n');
  return `${from}\n${toYaml(loaded.config, { lineWidth: 0 })}`;
}

/** resolved-config.yaml, with the data's provenance once the data stage has recorded it. */
function writeResolved(plan: Plan, loaded: LoadedConfig, sets: readonly string[]): void {
  const file = dataProvenancePath(join(plan.runDir, DATA_DIR));
  const provenance = existsSync(file) ? readDataProvenance(file) : undefined;
  writeFileAtomic(join(plan.runDir, RESOLVED_CONFIG), resolvedYaml(loaded, sets, provenance));
}

/** The evaluations this plan writes, so a report on a half-finished run can say what is missing. */
function expectedResults(plan: Plan): string {
  const evaluations = plan.stages.filter((s) => s.kind === 'eval').map((s) => s.rel.split(sep).join('/'));
  return `${JSON.stringify({ evaluations }, null, 2)}\n`;
}

function hasEvaluations(plan: Plan): boolean {
  return plan.stages.some((s) => s.kind === 'eval' && isDone(s));
}

export async function runPipeline(o: RunOptions): Promise<RunResult> {
  const print = o.print ?? ((t: string) => process.stdout.write(t));
  const prepared = await prepareRun(o);
  const { loaded, plan } = prepared;
  const onSlurm = !o.executor && (o.executorName ?? loaded.config.executor) === 'slurm';
  if (o.detach && !onSlurm) throw new UserError('--detach needs the Slurm executor (--executor slurm, or executor: slurm in the config): a local run ends with its workers');
  if (o.dryRun) {
    // A dry run writes nothing, but says now that a real run would refuse this directory.
    runDirState(plan.runDir);
    checkStageDirs(plan.stages);
    print(await formatDownloadPlan(prepared));
    print(formatPlan(prepared));
    return { runDir: plan.runDir, config: loaded.config, plan };
  }
  let scheduler: Scheduler | undefined;
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    scheduler?.abort();
  };
  const unhandleSignals = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  // Listen before the lock exists: a signal that came between taking the lock and listening would kill the
  // process with its lock left behind. From here on a signal stops the run through the finally below.
  if (o.handleSignals) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
  let claimed: ReturnType<typeof claimRunDir>;
  try {
    // A local run must not write where Slurm jobs of a detached run still work (they hold no lock).
    if (!onSlurm && !o.executor) await refuseLiveSlurmJobs(plan.runDir);
    claimed = claimRunDir(plan.runDir, loaded.config.name);
  } catch (err) {
    if (o.handleSignals) unhandleSignals();
    throw err;
  }
  try {
    checkStageDirs(plan.stages);
    const display = o.display ?? runDisplay();
    if (claimed.tookOverFrom) display.note(`took over the lock of a run that ended without releasing it (${describeHolder(claimed.tookOverFrom)})`);
    writeResolved(plan, loaded, o.sets ?? []);
    writeFileAtomic(join(plan.runDir, EXPECTED_RESULTS_FILE), expectedResults(plan));
    const moved = tidyRunDir(plan);
    if (moved.length) display.note(`moved ${moved.length} result folder(s) this config no longer has to ${join(plan.runDir, 'unused')}`);

    let outcome: Outcome;
    let slurm: Submitted | undefined;
    if (onSlurm) {
      slurm = await submitPlan({ plan, name: loaded.config.name, slurm: loaded.config.slurm, threads: prepared.threads });
      const left = slurm.submitted.length + slurm.kept.length;
      display.note(
        `run ${loaded.config.name} → ${plan.runDir} on Slurm: ${slurm.reused.length} of ${plan.stages.length} stages reused, ${slurm.submitted.length} submitted` +
          `${slurm.kept.length ? `, ${slurm.kept.length} left queued or running` : ''}${slurm.manifest.report ? ` (report: job ${slurm.manifest.report.job_id})` : ''}`,
      );
      const tokens = TOKEN_VARIABLES.filter((k) => process.env[k]);
      if (tokens.length && slurm.submitted.length) {
        display.note(`${tokens.join(' and ')} not passed to the Slurm jobs (the controller would keep it with each job): jobs read gated repos from the shared cache, so fetch them first with clearbench download`);
      }
      if (o.detach && left) {
        display.end();
        print(`submitted; follow with: clearbench status ${plan.runDir} (the leaderboard is written when the last job ends)\n`);
        return { runDir: plan.runDir, config: loaded.config, plan, slurm, detached: true };
      }
      try {
        outcome = await watchRun(plan.runDir, plan, slurm, display, o.pollMs ?? 5000, () => interrupted);
      } finally {
        display.end();
        writeResolved(plan, loaded, o.sets ?? []);
      }
    } else {
      scheduler = new Scheduler(plan, o.executor ?? new LocalExecutor(), { jobs: prepared.jobs, threads: prepared.threads, display });
      if (interrupted) scheduler.abort();
      const pending = scheduler.pending();
      display.note(`run ${loaded.config.name} → ${plan.runDir}: ${plan.stages.length - pending.length} of ${plan.stages.length} stages reused, ${pending.length} to run`);
      try {
        outcome = await scheduler.run();
      } finally {
        display.end();
        writeResolved(plan, loaded, o.sets ?? []); // now with the commits the data stage resolved
      }
    }
    if (interrupted) return { runDir: plan.runDir, config: loaded.config, plan, outcome, interrupted, slurm };

    let reports: ReportPaths | undefined;
    if (hasEvaluations(plan)) {
      reports = await writeReports(plan.runDir);
      // Paths inside the working directory print relative to it, others absolute.
      const rel = (p: string) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
      print(`\n${readFileSync(reports.markdown, 'utf8').trimEnd()}\n\n`);
      print(`leaderboard: ${rel(reports.markdown)} (also .csv, .json, .tex)\nreport:      ${rel(reports.html)}\n`);
    }
    return { runDir: plan.runDir, config: loaded.config, plan, outcome, reports, slurm };
  } finally {
    if (o.handleSignals) unhandleSignals();
    claimed.lock.release();
  }
}

/** The one-line error for a run with failed jobs (the CLI exits non-zero with it). */
export function failureMessage(outcome: Outcome): string | null {
  if (!outcome.failed.length) return null;
  const first = outcome.failed[0];
  const skipped = outcome.skipped.length ? ` and ${outcome.skipped.length} stage(s) that needed it were skipped` : '';
  return (
    `${outcome.failed.length} job(s) failed${skipped} (first: ${first.id}, log ${first.log}); ` +
    'fix the cause and run again: finished stages are reused'
  );
}

