/**
 * sbatch's command line and the batch script of one job. The arguments are built here as a pure function
 * (unit-tested); the script runs the pipeline worker on the stage's job spec with the same thread budget
 * as a local worker, checks first that the node sees the run directory and the harness, and writes an exit
 * status file, because without slurmdbd (sacct) the queue forgets a finished job after MinJobAge.
 */
import { execFile } from 'node:child_process';
import { UserError } from '../../util/errors.ts';
import { type JobResources } from './config.ts';

export interface SbatchJob {
  /** The job's name in the queue. */
  name: string;
  /** stdout and stderr of the job (Slurm opens it on the node). */
  log: string;
  /** The job's working directory (the run directory). */
  chdir: string;
  resources: JobResources;
  /** Jobs that must succeed first (`afterok`), or end in any way first (`afterany`, the report job). */
  after: readonly string[];
  afterKind?: 'afterok' | 'afterany';
}

/** How every message about a node that cannot see the run directory ends (the CLI picks such a failure out). */
export const SHARED_FS = 'must be on a filesystem the nodes share';

/** `afterok:1:2:3`, or null without dependencies. */
export function dependencyArg(after: readonly string[], kind: 'afterok' | 'afterany' = 'afterok'): string | null {
  return after.length ? `${kind}:${after.join(':')}` : null;
}

/** sbatch's arguments for a job (the script path comes after them). */
export function sbatchArgs(job: SbatchJob): string[] {
  const r = job.resources;
  const args = ['--parsable', `--job-name=${job.name}`, `--output=${job.log}`, `--chdir=${job.chdir}`, `--cpus-per-task=${r.cpus_per_task}`];
  const optional: [string, string | null][] = [
    ['partition', r.partition], ['account', r.account], ['qos', r.qos], ['time', r.time], ['mem', r.mem], ['gres', r.gres],
  ];
  for (const [flag, value] of optional) if (value !== null) args.push(`--${flag}=${value}`);
  const dep = dependencyArg(job.after, job.afterKind);
  if (dep) {
    args.push(`--dependency=${dep}`);
    // A failed input cancels its dependents at once instead of leaving them pending forever.
    args.push(`--kill-on-invalid-dep=${job.afterKind === 'afterany' ? 'no' : 'yes'}`);
  }
  args.push(...r.extra_args);
  return args;
}

/** A word for bash, single-quoted. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface BatchScript {
  /** The command the job runs (absolute paths), e.g. node bin/clearbench-worker.js SPEC. */
  command: readonly string[];
  env: Record<string, string>;
  /** Files that must be visible on the node (the run marker, the harness's entry point). */
  mustSee: readonly string[];
  /** Where the script writes `{"job_id", "exit_code", "host"}` when the command ends. */
  exitFile: string;
  runDir: string;
}

/** The batch script's text. */
export function batchScript(b: BatchScript): string {
  const exports = Object.entries(b.env).map(([k, v]) => `export ${k}=${shQuote(v)}`);
  const checks = b.mustSee.map(
    // The reason first: the executor reports a log's last line shortened to 200 characters.
    (f) => `[ -e ${shQuote(f)} ] || { echo "clearbench: the run directory and clearbench itself ${SHARED_FS}: node $(hostname) cannot see ${f}" >&2; exit 2; }`,
  );
  return [
    '#!/bin/bash',
    '# Written by clearbench (src/pipeline/slurm/sbatch.ts): one stage of a pipeline run as a Slurm job.',
    ...exports,
    ...checks,
    b.command.map(shQuote).join(' '),
    'rc=$?',
    `printf '{"job_id": "%s", "exit_code": %d, "host": "%s"}\\n' "$SLURM_JOB_ID" "$rc" "$(hostname)" > ${shQuote(`${b.exitFile}.tmp`)} && mv ${shQuote(`${b.exitFile}.tmp`)} ${shQuote(b.exitFile)}`,
    'exit $rc',
    '',
  ].join('\n');
}

/** Environment variables that hold a hub access token: never handed to Slurm. */
export const TOKEN_VARIABLES = ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'] as const;

/**
 * What sbatch may export to a job: this environment without access tokens. Slurm keeps a job's environment in
 * the controller's job record (and `sacct --env-vars` shows it), so a token exported there would reach hosts
 * other than the hub. Jobs find gated repos in the shared cache instead (`clearbench download` first).
 */
export function jobEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of TOKEN_VARIABLES) delete out[k];
  return out;
}

/** Runs a Slurm command; a missing command or a refusal is a one-line UserError. */
export function slurmCommand(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // The environment passed explicitly: sbatch exports it to the job (CLEARBENCH_CACHE, CLEARBENCH_DEVICE, …).
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: jobEnvironment(process.env) }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new UserError(`the Slurm executor needs ${cmd} on PATH (Slurm's client commands: apt-get install slurm-client, or load your cluster's module), or run with --executor local`));
      }
      const line = (stderr || err.message).trim().split('\n').filter(Boolean).at(-1) ?? err.message;
      reject(new UserError(`${cmd} failed: ${line}`));
    });
  });
}

/** Submits a script; resolves to the job id (`--parsable` prints `id` or `id;cluster`). */
export async function sbatch(args: readonly string[], script: string): Promise<string> {
  const out = await slurmCommand('sbatch', [...args, script]);
  const id = out.trim().split('\n').at(-1)!.split(';')[0];
  if (!/^\d+(_\d+)?$/.test(id)) throw new UserError(`sbatch printed no job id (${out.trim()}); check the slurm settings of the config`);
  return id;
}
