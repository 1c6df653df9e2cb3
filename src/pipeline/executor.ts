/**
 * Where stages run: the scheduler (scheduler.ts) decides when a stage may start and hands its job to an
 * executor, which starts it, says how it ended and can stop it. The local executor runs each job in a
 * worker process on this machine; the Slurm executor (slurm/executor.ts) implements the same calls with
 * submit → sbatch (a queue job id), state → a poll of the queue, cancel → scancel. A queue can also hold a
 * job until other jobs succeed (`after`), so a whole plan can be submitted at once and outlive this process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type JobKind, type WorkerMessage } from './jobs/spec.ts';

/** One stage's job, as the scheduler hands it over. */
export interface JobSubmission {
  /** The stage id (e.g. `train:base`): for the executor's own naming of the job. */
  stage: string;
  /** The job's JSON spec, already written, on a path the job's host can read. */
  specFile: string;
  /** Where the job's stdout and stderr go; a failure's description ends with it. */
  log: string;
  /** ORT intra-op threads the job may use. */
  threads: number;
  /** Progress and notes while it runs, where the executor can relay them (a batch queue need not). */
  onMessage?: (message: WorkerMessage) => void;
  /** The stage's kind (the Slurm executor asks for each kind's resources). */
  kind?: JobKind;
  /** Ids of jobs of this executor that must succeed before this one starts (a queue's dependencies; the local executor takes none). */
  after?: readonly string[];
  /**
   * The stage's done marker, for a job to write itself when it succeeds: a queued job may end after the
   * process that submitted it (the local scheduler writes the marker instead).
   */
  marker?: DoneMarkerSpec;
}

/** What a job needs to mark its stage done (CLEARBENCH_DONE_MARKER, read by worker.ts). */
export interface DoneMarkerSpec {
  file: string;
  stage: string;
  key: string;
}

/** A submitted job. */
export interface JobHandle {
  /** The executor's id for it (a worker's pid, a queue's job id). */
  readonly id: string;
  readonly stage: string;
}

export type JobEnd = { status: 'succeeded' } | { status: 'failed'; /** One line: why, the log's last line, the log's path. */ message: string };
export type JobState = { status: 'running' } | JobEnd;

export interface Executor {
  /** Starts the job; resolves once it is started (or queued). */
  submit(job: JobSubmission): Promise<JobHandle>;
  /** The job's state now. */
  state(handle: JobHandle): Promise<JobState>;
  /** Resolves once the job has ended; a cancelled job ends as failed. */
  ended(handle: JobHandle): Promise<JobEnd>;
  /** Stops the job; its stage stays unfinished and runs again next time. */
  cancel(handle: JobHandle): Promise<void>;
}

/** The last non-empty line of a log (where a worker writes its job's error), shortened. */
export function lastLogLine(file: string): string {
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.at(-1) ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
