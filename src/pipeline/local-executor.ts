/**
 * The local executor: each job in its own worker process on this machine (`bin/clearbench-worker.js
 * SPEC`), with its stdout and stderr in the job's log, `threads` ORT threads, and its progress relayed
 * over IPC. A worker whose pipeline dies stops by itself (worker.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Executor, type JobEnd, type JobHandle, type JobState, type JobSubmission, lastLogLine } from './executor.ts';
import { type WorkerMessage } from './jobs/spec.ts';

export const WORKER_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/clearbench-worker.js');

interface Worker {
  child: ChildProcess;
  /** Set once the worker has ended. */
  end: JobEnd | null;
  ended: Promise<JobEnd>;
}

export class LocalExecutor implements Executor {
  /** Every job submitted in this run, by handle id (a sequence number: pids are reused). */
  private readonly workers = new Map<string, Worker>();

  async submit(job: JobSubmission): Promise<JobHandle> {
    // The scheduler starts a job only once its inputs are done; a worker cannot wait for other jobs.
    if (job.after?.length) throw new Error(`the local executor cannot queue ${job.stage} behind other jobs`);
    const log = openSync(job.log, 'w');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [WORKER_BIN, job.specFile], {
        stdio: ['ignore', log, log, 'ipc'],
        env: { ...process.env, CLEARBENCH_THREADS: String(job.threads), CLEARBENCH_EXECUTOR: 'local' },
      });
    } finally {
      closeSync(log);
    }
    const handle: JobHandle = { id: String(this.workers.size + 1), stage: job.stage };
    child.on('message', (m: WorkerMessage) => {
      if (m?.type === 'progress' || m?.type === 'note') job.onMessage?.(m);
    });
    let resolveEnd!: (end: JobEnd) => void;
    const worker: Worker = { child, end: null, ended: new Promise<JobEnd>((r) => (resolveEnd = r)) };
    const finish = (end: JobEnd) => {
      if (worker.end) return; // 'error' and 'exit' can both come
      worker.end = end;
      resolveEnd(end);
    };
    child.on('error', (err) => finish({ status: 'failed', message: `could not start the worker (${err.message}); log: ${job.log}` }));
    child.on('exit', (code, signal) => {
      if (code === 0) return finish({ status: 'succeeded' });
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      const last = lastLogLine(job.log);
      finish({ status: 'failed', message: `${why}${last ? ` (${last})` : ''}; log: ${job.log}` });
    });
    this.workers.set(handle.id, worker);
    return handle;
  }

  async state(handle: JobHandle): Promise<JobState> {
    return this.worker(handle).end ?? { status: 'running' };
  }

  ended(handle: JobHandle): Promise<JobEnd> {
    return this.worker(handle).ended;
  }

  async cancel(handle: JobHandle): Promise<void> {
    const w = this.worker(handle);
    if (!w.end) w.child.kill('SIGTERM');
  }

  private worker(handle: JobHandle): Worker {
    const w = this.workers.get(handle.id);
    if (!w) throw new Error(`no job ${handle.id} was submitted to this executor`);
    return w;
  }
}
