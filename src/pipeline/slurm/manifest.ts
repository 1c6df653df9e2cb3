/**
 * `<run>/slurm.json`: what a Slurm run submitted, so `clearbench status`, `cancel` and a rerun work from
 * the run directory alone after the submitting process has gone. One entry per stage of the last plan
 * (its key, its files, its input stages, the job that last ran or is to run it) and the report job.
 * Rewritten atomically after every submission, so a process killed while submitting leaves a manifest
 * that names every job already in the queue.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.ts';
import { UserError } from '../../util/errors.ts';
import { SLURM_MANIFEST } from '../../results/layout.ts';

export interface ManifestStage {
  id: string;
  label: string;
  key: string;
  deps: string[];
  /** The done marker and the stage's main output: both present (with this key) = done. */
  marker: string;
  output: string;
  log: string;
  /** Written by the job's script when its command ends (sbatch.ts). */
  exit_file: string;
  /** The job that ran or runs this stage; null for a stage reused from before the Slurm executor. */
  job_id: string | null;
  /** Set by `clearbench cancel` (so a stage it stopped reads as cancelled, not skipped). */
  cancelled?: boolean;
}

export interface ManifestJob {
  job_id: string;
  log: string;
  exit_file: string;
  cancelled?: boolean;
}

export interface SlurmManifest {
  version: 1;
  name: string;
  run_dir: string;
  stages: ManifestStage[];
  /** The final job that writes the leaderboard once every stage job has ended. */
  report: ManifestJob | null;
  updated: string;
}

export const manifestPath = (runDir: string) => join(runDir, SLURM_MANIFEST);

export function readManifest(runDir: string): SlurmManifest | null {
  const file = manifestPath(runDir);
  if (!existsSync(file)) return null;
  let m: SlurmManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as SlurmManifest;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}); delete it and run again (finished stages are reused)`);
  }
  if (m?.version !== 1 || !Array.isArray(m.stages)) throw new UserError(`${file} is not a clearbench Slurm manifest; delete it and run again (finished stages are reused)`);
  return m;
}

export function writeManifest(m: SlurmManifest): void {
  writeFileAtomic(manifestPath(m.run_dir), `${JSON.stringify({ ...m, updated: new Date().toISOString() }, null, 2)}\n`);
}

/** Every job id the manifest names (stages and report). */
export function manifestJobIds(m: SlurmManifest): string[] {
  return [...m.stages.map((s) => s.job_id), m.report?.job_id ?? null].filter((id): id is string => id !== null);
}
