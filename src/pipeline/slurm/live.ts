/**
 * A local run must not write into stages that Slurm jobs of the same run directory are still working on
 * (a detached run holds no lock once its submitting process has exited): it refuses while any is queued
 * or running.
 */
import { UserError } from '../../util/errors.ts';
import { readManifest } from './manifest.ts';
import { isActive, runStatus } from './status.ts';

export async function refuseLiveSlurmJobs(runDir: string): Promise<void> {
  const m = readManifest(runDir);
  if (!m) return;
  let live: string[];
  try {
    live = (await runStatus(m)).stages.filter(isActive).map((s) => s.id);
  } catch {
    return; // no Slurm commands here: nothing of this machine's can be in a queue we cannot see
  }
  if (live.length) {
    throw new UserError(
      `${live.length} Slurm job(s) of ${runDir} are still queued or running (first: ${live[0]}); wait for them, stop them with clearbench cancel ${runDir}, or run again with --executor slurm`,
    );
  }
}
