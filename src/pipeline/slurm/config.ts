/**
 * What each stage's sbatch job asks for: the config's shared `slurm` settings, overridden per stage kind
 * (train, unlearn, eval; the data stage and the report job take the shared ones), cpus_per_task defaulting
 * to the job's threads so a Slurm job gets the cores its ORT sessions use, as a local worker does.
 */
import { type SlurmConfig, type SlurmResources } from '../config/schema.ts';
import { type JobKind } from '../jobs/spec.ts';

/** Resolved settings of one job (cpus_per_task always set). */
export type JobResources = Omit<SlurmResources, 'cpus_per_task'> & { cpus_per_task: number };

const KIND_SECTIONS = ['train', 'unlearn', 'eval'] as const;

/** The resources of a job of `kind` ('report' for the final report job) with `threads` ORT threads. */
export function resourcesFor(slurm: SlurmConfig, kind: JobKind | 'report', threads: number): JobResources {
  const { train: _t, unlearn: _u, eval: _e, ...shared } = slurm;
  const own = (KIND_SECTIONS as readonly string[]).includes(kind) ? slurm[kind as (typeof KIND_SECTIONS)[number]] : null;
  const pick = <K extends keyof SlurmResources>(k: K): SlurmResources[K] => (own && own[k] !== null ? own[k] : shared[k]);
  return {
    partition: pick('partition'),
    account: pick('account'),
    qos: pick('qos'),
    time: pick('time'),
    cpus_per_task: pick('cpus_per_task') ?? threads,
    mem: pick('mem'),
    gres: pick('gres'),
    extra_args: [...shared.extra_args, ...(own?.extra_args ?? [])],
  };
}
