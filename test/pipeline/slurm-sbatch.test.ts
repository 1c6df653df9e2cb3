/**
 * The Slurm executor's pure parts: each stage kind's resources from the config (shared settings, per-kind
 * overrides, cpus_per_task defaulting to the job's threads), sbatch's arguments and dependency lists,
 * and the batch script (same CLEARBENCH_THREADS as a local worker, the shared-filesystem check, the exit
 * status file), run here by bash with a stand-in command.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/pipeline/config/schema.ts';
import { resourcesFor } from '../../src/pipeline/slurm/config.ts';
import { exitFileOf, scriptFileOf } from '../../src/pipeline/slurm/executor.ts';
import { batchScript, dependencyArg, sbatchArgs, shQuote } from '../../src/pipeline/slurm/sbatch.ts';

const slurmOf = (slurm: unknown) => configSchema.parse({ name: 't', slurm }).slurm;

describe('resources per stage kind', () => {
  test('defaults: nothing but the cpus, which are the job threads', () => {
    expect(resourcesFor(slurmOf(undefined), 'train', 3)).toEqual({
      partition: null, account: null, qos: null, time: null, cpus_per_task: 3, mem: null, gres: null, extra_args: [],
    });
  });

  test('a kind overrides the shared settings; its extra_args add to the shared ones; data and report take the shared ones', () => {
    const slurm = slurmOf({
      partition: 'cpu', account: 'lab', time: '01:00:00', extra_args: ['--requeue'],
      train: { partition: 'gpu', gres: 'gpu:1', mem: '32G', cpus_per_task: 8, extra_args: ['--constraint=a100'] },
      eval: { time: '00:20:00' },
    });
    expect(resourcesFor(slurm, 'train', 2)).toEqual({
      partition: 'gpu', account: 'lab', qos: null, time: '01:00:00', cpus_per_task: 8, mem: '32G', gres: 'gpu:1', extra_args: ['--requeue', '--constraint=a100'],
    });
    expect(resourcesFor(slurm, 'eval', 2)).toMatchObject({ partition: 'cpu', time: '00:20:00', gres: null, cpus_per_task: 2, extra_args: ['--requeue'] });
    expect(resourcesFor(slurm, 'unlearn', 1)).toMatchObject({ partition: 'cpu', time: '01:00:00', cpus_per_task: 1 });
    expect(resourcesFor(slurm, 'data', 1)).toMatchObject({ partition: 'cpu', gres: null });
    expect(resourcesFor(slurm, 'report', 1)).toMatchObject({ partition: 'cpu', cpus_per_task: 1 });
  });

  test('an unknown key or a wrong type is refused by the schema, naming what is allowed', () => {
    expect(() => slurmOf({ gpus: 1 })).toThrow(/unknown key \(allowed: partition, account, qos, time, cpus_per_task, mem, gres, extra_args, train, unlearn, eval\)/);
    expect(() => slurmOf({ train: { cpus_per_task: 0 } })).toThrow();
    expect(() => configSchema.parse({ name: 't', executor: 'pbs' })).toThrow();
  });
});

describe('sbatch arguments', () => {
  const resources = resourcesFor(slurmOf({ partition: 'gpu', gres: 'gpu:1', qos: 'high', extra_args: ['--exclusive'] }), 'train', 2);

  test('dependency lists: afterok on every queued input, none without inputs', () => {
    expect(dependencyArg([])).toBeNull();
    expect(dependencyArg(['12'])).toBe('afterok:12');
    expect(dependencyArg(['12', '13', '20'])).toBe('afterok:12:13:20');
    expect(dependencyArg(['12', '13'], 'afterany')).toBe('afterany:12:13');
  });

  test('a stage job: its name, log, working directory, resources, dependencies (cancelled when an input fails), extra args last', () => {
    expect(sbatchArgs({ name: 'clearbench:smoke:train:target', log: '/r/models/target/job.log', chdir: '/r', resources, after: ['7', '8'] })).toEqual([
      '--parsable', '--job-name=clearbench:smoke:train:target', '--output=/r/models/target/job.log', '--chdir=/r', '--cpus-per-task=2',
      '--partition=gpu', '--qos=high', '--gres=gpu:1', '--dependency=afterok:7:8', '--kill-on-invalid-dep=yes', '--exclusive',
    ]);
  });

  test('a job without inputs has no dependency flags; the report job waits for every job however it ends', () => {
    const plain = sbatchArgs({ name: 'n', log: '/l', chdir: '/r', resources: resourcesFor(slurmOf({}), 'data', 1), after: [] });
    expect(plain).toEqual(['--parsable', '--job-name=n', '--output=/l', '--chdir=/r', '--cpus-per-task=1']);
    const report = sbatchArgs({ name: 'n', log: '/l', chdir: '/r', resources: resourcesFor(slurmOf({}), 'report', 1), after: ['3', '4'], afterKind: 'afterany' });
    expect(report.slice(-2)).toEqual(['--dependency=afterany:3:4', '--kill-on-invalid-dep=no']);
  });

  test("a job's files sit beside its spec, as dot-files in the dataset directory", () => {
    expect(exitFileOf('/r/models/target/job.json')).toBe('/r/models/target/slurm-exit.json');
    expect(scriptFileOf('/r/models/target/job.json')).toBe('/r/models/target/slurm-job.sh');
    expect(exitFileOf('/r/data/.job.json')).toBe('/r/data/.slurm-exit.json');
  });
});

describe('the batch script', () => {
  test('runs the command with the thread budget, records its exit code and job id, exits with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clearbench-slurm-script-'));
    try {
      const seen = join(dir, 'marker');
      writeFileSync(seen, '');
      const script = join(dir, "job's.sh");
      const exitFile = join(dir, 'exit.json');
      writeFileSync(script, batchScript({
        command: ['/bin/sh', '-c', 'echo "threads=$CLEARBENCH_THREADS executor=$CLEARBENCH_EXECUTOR"; exit 3'],
        env: { CLEARBENCH_THREADS: '2', CLEARBENCH_EXECUTOR: 'slurm' }, mustSee: [seen], exitFile, runDir: dir,
      }));
      const r = spawnSync('bash', [script], { encoding: 'utf8', env: { ...process.env, SLURM_JOB_ID: '42' } });
      expect(r.stdout).toBe('threads=2 executor=slurm\n');
      expect(r.status).toBe(3);
      expect(JSON.parse(readFileSync(exitFile, 'utf8'))).toMatchObject({ job_id: '42', exit_code: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on a node that cannot see the run directory it stops at once with one line saying what must be shared', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clearbench-slurm-script-'));
    try {
      const script = join(dir, 'job.sh');
      writeFileSync(script, batchScript({ command: ['/bin/echo', 'ran'], env: {}, mustSee: ['/nonexistent/run/.clearbench-run.json'], exitFile: join(dir, 'exit.json'), runDir: '/nonexistent/run' }));
      const r = spawnSync('bash', [script], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^clearbench: the run directory and clearbench itself must be on a filesystem the nodes share: node \S+ cannot see \/nonexistent\/run\/\.clearbench-run\.json\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('quotes any word for bash', () => {
    expect(spawnSync('bash', ['-c', `printf %s ${shQuote("it's $HOME `x`")}`], { encoding: 'utf8' }).stdout).toBe("it's $HOME `x`");
  });
});
