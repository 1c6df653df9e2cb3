/**
 * What the queue says about jobs: squeue (pending, running and, for MinJobAge after they end, finished
 * jobs) and, where the cluster keeps accounting (slurmdbd), sacct for jobs squeue has forgotten. Without
 * either, a job's end is read from the files its script writes (status.ts).
 */
import { slurmCommand } from './sbatch.ts';

export interface QueueEntry {
  /** Slurm's state name, e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT. */
  state: string;
  /** squeue's reason (Dependency, DependencyNeverSatisfied, Resources, …) or sacct's exit code. */
  reason: string;
}

export type QueueSnapshot = Map<string, QueueEntry>;

/** Parses `squeue -h -o '%i|%T|%r'` (or `sacct -n -P -X -o JobID,State,ExitCode`) lines. */
export function parseQueueLines(text: string): QueueSnapshot {
  const out: QueueSnapshot = new Map();
  for (const line of text.split('\n')) {
    const [id, state, reason = ''] = line.trim().split('|');
    if (!id || !state) continue;
    // sacct writes "CANCELLED by 0"; array and step ids are not ours.
    out.set(id.trim(), { state: state.trim().split(/\s+/)[0].toUpperCase(), reason: reason.trim() });
  }
  return out;
}

/** States in which a job may still start or is running. */
export const ACTIVE_STATES = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED']);

/** The queue's view of `ids` (those it knows; the rest are absent from the map). */
export async function queueSnapshot(ids: readonly string[]): Promise<QueueSnapshot> {
  const snapshot: QueueSnapshot = new Map();
  if (!ids.length) return snapshot;
  const wanted = new Set(ids);
  // All of the user's jobs in every state: `squeue -j` fails outright when one id has been forgotten.
  const user = process.env.USER ?? process.env.LOGNAME;
  const text = await slurmCommand('squeue', ['-h', '-t', 'all', '-o', '%i|%T|%r', ...(user ? ['-u', user] : [])]);
  for (const [id, e] of parseQueueLines(text)) if (wanted.has(id)) snapshot.set(id, e);
  const missing = ids.filter((id) => !snapshot.has(id));
  if (missing.length) {
    try {
      const acct = await slurmCommand('sacct', ['-n', '-P', '-X', '-o', 'JobID,State,ExitCode', '-j', missing.join(',')]);
      for (const [id, e] of parseQueueLines(acct)) if (wanted.has(id) && !snapshot.has(id)) snapshot.set(id, e);
    } catch {
      // No accounting (no slurmdbd, as on scripts/slurm-local.sh's cluster): the jobs' own files tell.
    }
  }
  return snapshot;
}
