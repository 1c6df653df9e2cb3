/**
 * Each stage's state in a Slurm run, from the run directory and the queue alone: done (its marker holds
 * its key and its output exists), queued or running (the queue says so), failed (its job ended non-zero,
 * or without marking the stage done), cancelled (stopped before it ended), skipped (it never started
 * because an input failed or was cancelled). Where the queue has forgotten a job (MinJobAge, no sacct),
 * the exit status file its script writes and its log decide.
 */
import { existsSync, readFileSync } from 'node:fs';
import { lastLogLine } from '../executor.ts';
import { markedDone } from '../markers.ts';
import { type ManifestJob, type ManifestStage, type SlurmManifest, manifestJobIds } from './manifest.ts';
import { SHARED_FS } from './sbatch.ts';
import { ACTIVE_STATES, type QueueEntry, type QueueSnapshot, queueSnapshot } from './queue.ts';

export type StageStatus = 'done' | 'queued' | 'running' | 'failed' | 'cancelled' | 'skipped' | 'unsubmitted';

export interface StageState {
  id: string;
  status: StageStatus;
  job_id: string | null;
  log: string;
  /** Why (a failure's exit code and last log line, a queue reason, the input that failed). */
  detail: string;
  /** Skipped, but its job still waits in the queue (until Slurm cancels it for its failed input). */
  pending?: boolean;
}

/** The exit code the job's script recorded, if it recorded one for this job. */
export function recordedExit(file: string, jobId: string): number | null {
  try {
    const e = JSON.parse(readFileSync(file, 'utf8')) as { job_id?: unknown; exit_code?: unknown };
    return String(e.job_id) === jobId && typeof e.exit_code === 'number' ? e.exit_code : null;
  } catch {
    return null;
  }
}

const FAILED_STATES: Record<string, string> = {
  FAILED: 'failed', TIMEOUT: 'ran out of its time limit', OUT_OF_MEMORY: 'ran out of memory', NODE_FAIL: 'lost its node',
  BOOT_FAIL: 'its node failed to boot', DEADLINE: 'missed its deadline', PREEMPTED: 'was preempted', COMPLETED: 'completed',
};

/** How a job of the queue or its files ended, as a state of its own (no stage logic). */
export function jobState(job: Pick<ManifestJob, 'job_id' | 'log' | 'exit_file' | 'cancelled'>, q: QueueEntry | undefined): { status: Exclude<StageStatus, 'done' | 'skipped' | 'unsubmitted'> | 'ended'; detail: string; neverStarted?: boolean } {
  if (q && ACTIVE_STATES.has(q.state)) {
    if (q.state === 'PENDING') return { status: 'queued', detail: q.reason && q.reason !== 'None' ? q.reason : '' };
    return { status: 'running', detail: '' };
  }
  const started = existsSync(job.log);
  const code = recordedExit(job.exit_file, job.job_id);
  const last = lastLogLine(job.log);
  const withLog = (why: string) => `${why}${last ? ` (${last})` : ''}; log: ${job.log}`;
  if (code !== null && code !== 0) return { status: 'failed', detail: withLog(`exit code ${code}`) };
  if (code === 0) return { status: 'ended', detail: '' }; // the caller checks its marker
  if (job.cancelled || q?.state === 'CANCELLED') {
    const never = !started || q?.reason === 'DependencyNeverSatisfied';
    return { status: 'cancelled', detail: never ? 'cancelled before it started' : withLog('cancelled while running'), neverStarted: never };
  }
  if (q && FAILED_STATES[q.state]) {
    if (!started) return { status: 'failed', detail: `the job ${FAILED_STATES[q.state]} without writing its log ${job.log}: its node cannot see the run directory, which ${SHARED_FS}` };
    return { status: 'failed', detail: withLog(`Slurm says the job ${FAILED_STATES[q.state]}${q.reason && q.reason !== 'None' ? ` (${q.reason})` : ''}`) };
  }
  // Forgotten by the queue without an exit status: stopped from outside (scancel, a node lost) or never started.
  return started ? { status: 'cancelled', detail: withLog('ended without an exit status (cancelled or killed)') } : { status: 'cancelled', detail: 'ended before it started', neverStarted: true };
}

/** The states of every stage of the manifest, inputs before the stages that read them (plan order). */
export function stageStates(m: SlurmManifest, snapshot: QueueSnapshot): StageState[] {
  const byId = new Map<string, StageState>();
  const out: StageState[] = [];
  for (const s of m.stages) {
    const st = stageState(s, snapshot, byId);
    byId.set(s.id, st);
    out.push(st);
  }
  return out;
}

function stageState(s: ManifestStage, snapshot: QueueSnapshot, before: ReadonlyMap<string, StageState>): StageState {
  const base = { id: s.id, job_id: s.job_id, log: s.log };
  if (markedDone(s.marker, s.output, s.key)) return { ...base, status: 'done', detail: '' };
  if (s.job_id === null) return { ...base, status: 'unsubmitted', detail: 'not submitted: run the same clearbench run again' };
  const badInput = s.deps.map((d) => before.get(d)).find((d) => d && ['failed', 'cancelled', 'skipped', 'unsubmitted'].includes(d.status));
  const j = jobState({ ...s, job_id: s.job_id }, snapshot.get(s.job_id));
  if (j.status === 'ended') return { ...base, status: 'failed', detail: `the job ended without marking the stage done; log: ${s.log}` };
  // A job waiting on (or cancelled for) an input that cannot succeed any more never runs: skipped.
  if (badInput && (j.status === 'queued' || (j.status === 'cancelled' && j.neverStarted && !s.cancelled))) {
    return { ...base, status: 'skipped', detail: `never started: input ${badInput.id} ${badInput.status === 'skipped' ? 'was skipped' : badInput.status}`, ...(j.status === 'queued' ? { pending: true } : {}) };
  }
  return { ...base, status: j.status, detail: j.detail };
}

export interface RunStatus {
  manifest: SlurmManifest;
  stages: StageState[];
  report: { job_id: string; status: string; detail: string; log: string } | null;
}

/** The run's state now (one squeue call, and sacct for jobs squeue has forgotten). */
export async function runStatus(m: SlurmManifest): Promise<RunStatus> {
  const snapshot = await queueSnapshot(manifestJobIds(m));
  const stages = stageStates(m, snapshot);
  let report: RunStatus['report'] = null;
  if (m.report) {
    const j = jobState(m.report, snapshot.get(m.report.job_id));
    report = { job_id: m.report.job_id, status: j.status === 'ended' ? 'done' : j.status, detail: j.detail, log: m.report.log };
  }
  return { manifest: m, stages, report };
}

export const isActive = (s: Pick<StageState, 'status'>) => s.status === 'queued' || s.status === 'running';

/** The status table `clearbench status` prints. */
export function formatStatus(r: RunStatus): string {
  const counts = new Map<string, number>();
  for (const s of r.stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const order: StageStatus[] = ['done', 'running', 'queued', 'failed', 'cancelled', 'skipped', 'unsubmitted'];
  const summary = order.filter((k) => counts.get(k)).map((k) => `${counts.get(k)} ${k}`).join(', ');
  const w = Math.max(...r.stages.map((s) => s.id.length));
  const lines = [`run ${r.manifest.name} (${r.manifest.run_dir}), Slurm: ${r.stages.length} stages: ${summary}`];
  for (const s of r.stages) {
    const job = s.job_id ? `job ${s.job_id}` : 'no job';
    lines.push(`  ${s.status.padEnd(11)} ${s.id.padEnd(w)}  ${job.padEnd(11)} ${s.detail || s.log}`);
  }
  if (r.report) lines.push(`  report: job ${r.report.job_id} ${r.report.status}${r.report.detail ? ` (${r.report.detail})` : ''}; log: ${r.report.log}`);
  return `${lines.join('\n')}\n`;
}
