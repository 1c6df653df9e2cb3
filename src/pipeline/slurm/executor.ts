/**
 * The Slurm executor: the Executor interface (executor.ts) over sbatch, squeue/sacct and scancel. A job is
 * a batch script next to its stage's spec that runs the same worker as the local executor, with the same
 * CLEARBENCH_THREADS, so a stage's result does not depend on where it ran; the job writes the stage's
 * done marker itself and an exit status file, because it may end after the process that submitted it.
 */
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.ts';
import { UserError } from '../../util/errors.ts';
import { RUN_MARKER } from '../../results/layout.ts';
import { type SlurmConfig } from '../config/schema.ts';
import { type Executor, type JobEnd, type JobHandle, type JobState, type JobSubmission } from '../executor.ts';
import { WORKER_BIN } from '../local-executor.ts';
import { resourcesFor } from './config.ts';
import { jobState } from './status.ts';
import { queueSnapshot } from './queue.ts';
import { batchScript, sbatch, sbatchArgs, slurmCommand } from './sbatch.ts';

/** A file of the job beside its spec (a dot-file where the spec is one: in the dataset directory). */
export function jobFile(specFile: string, name: string): string {
  return join(dirname(specFile), basename(specFile).startsWith('.') ? `.${name}` : name);
}

export const exitFileOf = (specFile: string) => jobFile(specFile, 'slurm-exit.json');
export const scriptFileOf = (specFile: string) => jobFile(specFile, 'slurm-job.sh');

export interface SlurmExecutorOptions {
  runDir: string;
  /** Queue job names are `clearbench:<name>:<stage>`. */
  name: string;
  slurm: SlurmConfig;
  /** How often ended() polls the queue. */
  pollMs?: number;
}

interface SlurmHandle extends JobHandle {
  log: string;
  exitFile: string;
}

export class SlurmExecutor implements Executor {
  private readonly handles = new Map<string, SlurmHandle>();

  constructor(private readonly o: SlurmExecutorOptions) {}

  async submit(job: JobSubmission): Promise<JobHandle> {
    const exitFile = exitFileOf(job.specFile);
    const script = scriptFileOf(job.specFile);
    const env: Record<string, string> = { CLEARBENCH_THREADS: String(job.threads), CLEARBENCH_EXECUTOR: 'slurm' };
    if (job.marker) env.CLEARBENCH_DONE_MARKER = JSON.stringify(job.marker);
    writeFileAtomic(script, batchScript({
      command: [process.execPath, WORKER_BIN, job.specFile], env, exitFile, runDir: this.o.runDir,
      mustSee: [join(this.o.runDir, RUN_MARKER), job.specFile, WORKER_BIN],
    }));
    const args = sbatchArgs({
      name: `clearbench:${this.o.name}:${job.stage}`, log: job.log, chdir: this.o.runDir,
      resources: resourcesFor(this.o.slurm, job.kind ?? 'train', job.threads), after: job.after ?? [],
    });
    let id: string;
    try {
      id = await sbatch(args, script);
    } catch (err) {
      if (!(err as Error).message.startsWith('sbatch failed')) throw err; // sbatch missing: that line says it all
      throw new UserError(
        `${(err as Error).message} (submitting ${job.stage}); fix the slurm settings of the config and run again ` +
          `(jobs submitted before it stay queued: clearbench status ${this.o.runDir}, clearbench cancel ${this.o.runDir})`,
      );
    }
    const handle: SlurmHandle = { id, stage: job.stage, log: job.log, exitFile };
    this.handles.set(id, handle);
    return handle;
  }

  async state(handle: JobHandle): Promise<JobState> {
    const h = this.handle(handle);
    const j = jobState({ job_id: h.id, log: h.log, exit_file: h.exitFile }, (await queueSnapshot([h.id])).get(h.id));
    if (j.status === 'queued' || j.status === 'running') return { status: 'running' };
    if (j.status === 'ended') return { status: 'succeeded' };
    return { status: 'failed', message: j.detail };
  }

  async ended(handle: JobHandle): Promise<JobEnd> {
    for (;;) {
      const s = await this.state(handle);
      if (s.status !== 'running') return s;
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 5000));
    }
  }

  async cancel(handle: JobHandle): Promise<void> {
    await scancel([handle.id]);
  }

  private handle(h: JobHandle): SlurmHandle {
    const s = this.handles.get(h.id);
    if (!s) throw new Error(`no job ${h.id} was submitted to this executor`);
    return s;
  }
}

/** Cancels jobs (queued or running); ids the queue has forgotten are ignored by scancel. */
export async function scancel(ids: readonly string[]): Promise<void> {
  if (ids.length) await slurmCommand('scancel', [...ids]);
}
