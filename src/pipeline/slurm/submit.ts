/**
 * A run on Slurm: every stage that is not done becomes one sbatch job, queued behind the jobs of its
 * input stages (afterok), plus a final job that writes the leaderboard once they have all ended
 * (afterany). On a rerun, done stages are reused, jobs still queued or running are left alone (when
 * their inputs are too), and failed, cancelled or changed stages are submitted again. The manifest
 * (manifest.ts) is rewritten after each submission, so status, cancel and a rerun need nothing but the
 * run directory. Slurm does the scheduling; this only submits, and (without --detach) watches.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.ts';
import { SLURM_REPORT_FILES } from '../../results/layout.ts';
import { type SlurmConfig } from '../config/schema.ts';
import { type RunDisplay } from '../console.ts';
import { clearOutput, isDone, jobSpecPath, mainOutput, markerPath } from '../markers.ts';
import { type Plan, type Stage } from '../plan.ts';
import { type Outcome } from '../scheduler.ts';
import { resourcesFor } from './config.ts';
import { SlurmExecutor, exitFileOf, scancel } from './executor.ts';
import { type ManifestStage, type SlurmManifest, manifestJobIds, readManifest, writeManifest } from './manifest.ts';
import { queueSnapshot } from './queue.ts';
import { batchScript, sbatch, sbatchArgs } from './sbatch.ts';
import { type StageState, isActive, jobState, runStatus, stageStates } from './status.ts';

const CLI_BIN = new URL('../../../bin/clearbench.js', import.meta.url).pathname;

export interface SlurmRunOptions {
  plan: Plan;
  name: string;
  slurm: SlurmConfig;
  threads: number;
}

export interface Submitted {
  manifest: SlurmManifest;
  /** Stage ids submitted now. */
  submitted: string[];
  /** Stage ids whose queued or running jobs were left alone. */
  kept: string[];
  /** Stage ids already done. */
  reused: string[];
  /** Jobs cancelled because their stage changed, left the plan, or must run again behind a resubmitted input. */
  replaced: string[];
}

function entryOf(s: Stage, jobId: string | null): ManifestStage {
  const specFile = jobSpecPath(s);
  return { id: s.id, label: s.label, key: s.key, deps: s.deps, marker: markerPath(s), output: mainOutput(s), log: s.log, exit_file: exitFileOf(specFile), job_id: jobId };
}

/** Submits what the plan still needs (see the file comment); resolves once every job is in the queue. */
export async function submitPlan(o: SlurmRunOptions): Promise<Submitted> {
  const { plan } = o;
  const runDir = plan.runDir;
  const executor = new SlurmExecutor({ runDir, name: o.name, slurm: o.slurm });
  const old = readManifest(runDir);
  const oldById = new Map(old?.stages.map((s) => [s.id, s]) ?? []);
  const oldStates = new Map<string, StageState>(old ? stageStates(old, await queueSnapshot(manifestJobIds(old))).map((s) => [s.id, s]) : []);
  const liveOld = (id: string) => {
    const st = oldStates.get(id);
    return st && isActive(st) ? st.job_id : null;
  };
  // A job still queued behind a failed input is cancelled when its stage goes in again (not left to Slurm).
  const waitingOld = (id: string) => (oldStates.get(id)?.pending ? oldStates.get(id)!.job_id : null);
  const out: Submitted = { manifest: { version: 1, name: o.name, run_dir: runDir, stages: [], report: null, updated: '' }, submitted: [], kept: [], reused: [], replaced: [] };

  // Jobs of stages this plan no longer has (or has with another key) and the old report job go first.
  const inPlan = new Map(plan.stages.map((s) => [s.id, s.key]));
  const stale = (old?.stages ?? []).filter((s) => inPlan.get(s.id) !== s.key).map((s) => liveOld(s.id)).filter((id): id is string => id !== null);
  if (old?.report) {
    const r = jobState(old.report, (await queueSnapshot([old.report.job_id])).get(old.report.job_id));
    if (r.status === 'queued' || r.status === 'running') stale.push(old.report.job_id);
  }
  if (stale.length) {
    await scancel(stale);
    out.replaced.push(...stale);
  }

  const active = new Map<string, string>(); // stage id → job id, queued, running or just submitted
  const kept = new Set<string>();
  const save = (upTo: number) => {
    // Stages not yet handled keep their old entries, so the manifest always names every job in the queue.
    const rest = plan.stages.slice(upTo).map((s) => oldById.get(s.id)).filter((e): e is ManifestStage => e !== undefined);
    writeManifest({ ...out.manifest, stages: [...out.manifest.stages, ...rest] });
  };
  for (const [i, s] of plan.stages.entries()) {
    const prev = oldById.get(s.id);
    const sameKey = prev?.key === s.key;
    if (isDone(s)) {
      out.manifest.stages.push(entryOf(s, sameKey ? prev!.job_id : null));
      out.reused.push(s.id);
      continue;
    }
    const live = sameKey ? liveOld(s.id) : null;
    // A queued or running job stays if its inputs are done or stay too (a resubmitted input would leave it waiting on a dead job).
    if (live && s.deps.every((d) => kept.has(d) || !active.has(d))) {
      out.manifest.stages.push(entryOf(s, live));
      active.set(s.id, live);
      kept.add(s.id);
      out.kept.push(s.id);
      continue;
    }
    const replace = live ?? waitingOld(s.id);
    if (replace) {
      await scancel([replace]);
      out.replaced.push(replace);
    }
    clearOutput(s);
    const specFile = jobSpecPath(s);
    writeFileAtomic(specFile, `${JSON.stringify(s.spec, null, 2)}\n`);
    const handle = await executor.submit({
      stage: s.id, kind: s.kind, specFile, log: s.log, threads: o.threads,
      after: s.deps.filter((d) => active.has(d)).map((d) => active.get(d)!),
      marker: { file: markerPath(s), stage: s.id, key: s.key },
    });
    out.manifest.stages.push(entryOf(s, handle.id));
    active.set(s.id, handle.id);
    out.submitted.push(s.id);
    save(i + 1);
  }
  if (active.size) out.manifest.report = await submitReport(o, [...active.values()]);
  writeManifest(out.manifest);
  return out;
}

/** The final job: `clearbench report RUN --into-run` once every stage job has ended, however. */
async function submitReport(o: SlurmRunOptions, after: string[]): Promise<SlurmManifest['report']> {
  const runDir = o.plan.runDir;
  const log = join(runDir, SLURM_REPORT_FILES.log);
  const exitFile = join(runDir, SLURM_REPORT_FILES.exit);
  const script = join(runDir, SLURM_REPORT_FILES.script);
  writeFileAtomic(script, batchScript({
    command: [process.execPath, CLI_BIN, 'report', runDir, '--into-run'], env: {}, exitFile, runDir, mustSee: [CLI_BIN],
  }));
  const id = await sbatch(sbatchArgs({ name: `clearbench:${o.name}:report`, log, chdir: runDir, resources: resourcesFor(o.slurm, 'report', 1), after, afterKind: 'afterany' }), script);
  return { job_id: id, log, exit_file: exitFile };
}

/**
 * Watches the submitted jobs until every stage's job has ended, relaying each stage's start and end to the
 * display; resolves to the outcome (cancelled stages count as failed). `stopped()` ends the watch early
 * (the jobs stay in the queue).
 */
export async function watchRun(runDir: string, plan: Plan, sub: Submitted, display: RunDisplay, pollMs: number, stopped: () => boolean): Promise<Outcome> {
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const ours = new Set([...sub.submitted, ...sub.kept]);
  const outcome: Outcome = { ran: [], cached: [...sub.reused], failed: [], skipped: [] };
  const shown = new Map<string, string>();
  display.begin(ours.size);
  for (;;) {
    const m = readManifest(runDir)!;
    const st = await runStatus(m);
    for (const s of st.stages) {
      if (!ours.has(s.id) || shown.get(s.id) === s.status) continue;
      const stage = byId.get(s.id)!;
      const was = shown.get(s.id);
      shown.set(s.id, s.status);
      if (s.status === 'running') display.start(stage);
      else if (s.status === 'done') {
        if (was !== 'running') display.start(stage);
        display.finish(stage, wallOf(stage));
        outcome.ran.push(s.id);
      } else if (s.status === 'failed' || s.status === 'cancelled') {
        display.fail(stage, s.status === 'cancelled' ? `cancelled (${s.detail})` : s.detail);
        outcome.failed.push({ id: s.id, log: s.log, message: s.detail });
      } else if (s.status === 'skipped') {
        display.skip(stage, s.detail);
        outcome.skipped.push(s.id);
      }
    }
    // The report job is not waited for: this process writes the same reports itself (and skipped stages'
    // jobs may wait a few scheduling cycles before Slurm cancels them, holding the report job back).
    if (!st.stages.some((s) => ours.has(s.id) && isActive(s)) || stopped()) return outcome;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function wallOf(s: Stage): number {
  try {
    return (JSON.parse(readFileSync(markerPath(s), 'utf8')) as { wall_s?: number }).wall_s ?? 0;
  } catch {
    return 0;
  }
}
