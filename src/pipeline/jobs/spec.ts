/**
 * What one worker runs: a JSON job spec the pipeline writes into the stage's directory. Each kind's
 * parameters are the ones its implementation takes (the recipe run's, the unlearning run's, the data and
 * evaluation jobs' own), plus what the pipeline adds (the model's meta.json, the method by name). Paths are
 * absolute; the ORT thread budget comes from the worker's CLEARBENCH_THREADS, not from the spec.
 */
import { type ModelMeta } from '../../results/contract.ts';
import { type UnlearningJob } from '../../methods/unlearning-job.ts';
import { type RecipeJob } from '../../train/recipe-job.ts';
import { type DataParams } from './data-job.ts';
import { type EvalParams } from './eval-job.ts';
import { type ExecutorName } from '../config/schema.ts';

/** meta.json without the wall time, which the worker measures. */
export type MetaDraft = Omit<ModelMeta, 'wall_s'>;

/** Every key of T spelled out (a value may still be undefined): a plan leaves nothing to a default by omission. */
type Complete<T> = { [K in keyof Required<T>]: T[K] };

/** What is not data in a job spec: callbacks and the thread budget, which the worker supplies. */
type Runtime = 'onStep' | 'threads';

export type JobSpec =
  | ({ kind: 'data' } & DataParams)
  | ({ kind: 'train'; meta: MetaDraft } & Complete<Omit<RecipeJob, Runtime>>)
  | ({
      kind: 'unlearn';
      /** The method by name, found among the built-ins and `plugins`. */
      method: string;
      /** Plugin specs as the config lists them (absolute paths or package names). */
      plugins: string[];
      meta: MetaDraft;
    } & Complete<Omit<UnlearningJob, Runtime | 'method'>>)
  | ({ kind: 'eval' } & EvalParams);

export type JobKind = JobSpec['kind'];
export type JobOf<K extends JobKind> = Extract<JobSpec, { kind: K }>;

/** What a running job tells the pipeline: progress for the console's bar, notes for its log lines. */
export interface JobReporter {
  progress(value: number, total: number, info: string): void;
  note(message: string): void;
}

/** A worker's messages to the pipeline over IPC (the JobReporter calls, serialised). */
export type WorkerMessage =
  | { type: 'progress'; value: number; total: number; info: string }
  | { type: 'note'; message: string };

/**
 * Where this job runs, from the worker's environment: the executor sets CLEARBENCH_EXECUTOR, Slurm sets
 * SLURM_JOB_ID (read only under the Slurm executor: a local run inside an allocation is still local).
 */
export function jobPlace(env: NodeJS.ProcessEnv = process.env): { executor: ExecutorName; slurm_job_id: string | null } {
  const executor: ExecutorName = env.CLEARBENCH_EXECUTOR === 'slurm' ? 'slurm' : 'local';
  return { executor, slurm_job_id: executor === 'slurm' ? env.SLURM_JOB_ID ?? null : null };
}
