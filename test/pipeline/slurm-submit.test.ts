/**
 * Submitting a plan to Slurm, against stand-in sbatch / squeue / scancel scripts on PATH (no cluster, no
 * job runs): every stage is one job queued behind its inputs' jobs (afterok) and a report job behind all
 * (afterany); a rerun leaves queued and running jobs alone and replaces only the report job; a failed stage
 * is resubmitted with everything downstream of it, queued behind the new job ids; a changed stage's live
 * job is cancelled; the manifest names every job.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Plan } from '../../src/pipeline/plan.ts';
import { prepareRun } from '../../src/pipeline/run-pipeline.ts';
import { claimRunDir } from '../../src/pipeline/run-dir.ts';
import { type SlurmConfig } from '../../src/pipeline/config/schema.ts';
import { readManifest } from '../../src/pipeline/slurm/manifest.ts';
import { submitPlan } from '../../src/pipeline/slurm/submit.ts';

const CONFIG = `
name: sub
data: { source: synthetic, synthetic: { persons: 5, images_per_person: 2, well_known: 6, seed: 1 } }
model: { preset: tiny, vocab_size: 300 }
methods: [{ name: ga }, { name: npo }]
eval: { benchmarks: [clear], relearn_steps: 0, ds_size: 2, max_new_tokens: 2 }
threads: 3
slurm: { partition: cpu, train: { gres: "gpu:1", partition: gpu } }
`;

let dir: string;
let fake: string;
let savedPath: string | undefined;

/** sbatch prints the next id and records its arguments; squeue prints squeue.txt; scancel records its ids. */
function installFakeSlurm(): void {
  fake = join(dir, 'fake-bin');
  mkdirSync(fake);
  const script = (name: string, body: string) => {
    writeFileSync(join(fake, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(fake, name), 0o755);
  };
  script('sbatch', `n=$(( $(cat ${dir}/next 2>/dev/null || echo 100) + 1 )); echo $n > ${dir}/next; echo "$n $*" >> ${dir}/sbatch.log; echo "\${HF_TOKEN-unset} \${HUGGING_FACE_HUB_TOKEN-unset} \${CLEARBENCH_PROBE-unset}" >> ${dir}/sbatch-env.log; echo $n`);
  script('squeue', `cat ${dir}/squeue.txt 2>/dev/null; true`);
  script('scancel', `echo "$*" >> ${dir}/scancel.log`);
  script('sacct', 'echo "Slurm accounting storage is disabled" >&2; exit 1');
}

interface Call {
  id: string;
  name: string;
  args: string[];
}
const calls = (): Call[] =>
  readFileSync(join(dir, 'sbatch.log'), 'utf8').trim().split('\n').map((l) => {
    const [id, ...args] = l.split(' ');
    return { id, name: args.find((a) => a.startsWith('--job-name='))!.slice('--job-name=clearbench:sub:'.length), args };
  });
const cancelled = () => {
  try {
    return readFileSync(join(dir, 'scancel.log'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
};
const dependency = (c: Call) => c.args.find((a) => a.startsWith('--dependency='))?.slice('--dependency='.length) ?? null;
const queue = (lines: Record<string, string>) => writeFileSync(join(dir, 'squeue.txt'), Object.entries(lines).map(([id, st]) => `${id}|${st}`).join('\n'));

async function plan(runDir: string, sets: string[] = []): Promise<{ plan: Plan; slurm: SlurmConfig }> {
  const p = await prepareRun({ config: join(dir, 'sub.yaml'), out: runDir, sets });
  return { plan: p.plan, slurm: p.loaded.config.slurm };
}
async function submit(runDir: string, sets: string[] = []) {
  const { plan: pl, slurm } = await plan(runDir, sets);
  const claimed = claimRunDir(runDir, 'sub');
  try {
    return { plan: pl, out: await submitPlan({ plan: pl, name: 'sub', slurm, threads: 3 }) };
  } finally {
    claimed.lock.release();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-slurm-submit-'));
  writeFileSync(join(dir, 'sub.yaml'), CONFIG);
  installFakeSlurm();
  savedPath = process.env.PATH;
  process.env.PATH = `${fake}:${process.env.PATH}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

describe('submitting a plan to Slurm', () => {

  test('every stage one job behind its inputs, resources per kind, a report job behind all; then a rerun keeps what is live, resubmits a failure and its dependents', async () => {
    const run = join(dir, 'run');
    const { plan: pl, out } = await submit(run);
    expect(out.submitted).toHaveLength(pl.stages.length);
    const first = calls();
    const idOf = new Map(first.map((c) => [c.name, c.id]));
    for (const s of pl.stages) {
      const c = first.find((x) => x.name === s.id)!;
      expect(dependency(c)).toBe(s.deps.length ? `afterok:${s.deps.map((d) => idOf.get(d)).join(':')}` : null);
      expect(c.args).toContain('--cpus-per-task=3');
      expect(c.args).toContain(s.kind === 'train' ? '--gres=gpu:1' : '--partition=cpu');
      expect(c.args).toContain(`--output=${s.log}`);
    }
    const report = first.at(-1)!;
    expect(report.name).toBe('report');
    expect(dependency(report)).toBe(`afterany:${pl.stages.map((s) => idOf.get(s.id)).join(':')}`);
    const m = readManifest(run)!;
    expect(m.stages.map((s) => [s.id, s.job_id])).toEqual(pl.stages.map((s) => [s.id, idOf.get(s.id)]));
    expect(m.report!.job_id).toBe(report.id);
    // Each job's script: the worker on the stage's spec, with its threads, marking its stage done itself.
    const script = readFileSync(join(run, 'models', 'target', 'slurm-job.sh'), 'utf8');
    expect(script).toContain("export CLEARBENCH_THREADS='3'");
    expect(script).toContain(`"file":"${join(run, 'models', 'target', 'done.json')}","stage":"train:target"`);
    expect(script).toContain(`'${join(run, 'models', 'target', 'job.json')}'`);

    // The data job ended (its stage done), base runs, the rest wait: a rerun submits nothing but a new report job.
    const dataDir = join(run, 'data');
    writeFileSync(join(dataDir, 'README.md'), '');
    writeFileSync(join(dataDir, '.done.json'), JSON.stringify({ key: pl.stages[0].key }));
    const waiting = Object.fromEntries(pl.stages.slice(2).map((s) => [idOf.get(s.id)!, 'PENDING|Dependency']));
    queue({ [idOf.get('data')!]: 'COMPLETED|None', [idOf.get('train:base')!]: 'RUNNING|None', ...waiting, [report.id]: 'PENDING|Dependency' });
    const again = await submit(run);
    expect(again.out).toMatchObject({ submitted: [], reused: ['data'], replaced: [report.id] });
    expect(again.out.kept).toHaveLength(pl.stages.length - 1);
    expect(calls().slice(first.length).map((c) => c.name)).toEqual(['report']);
    expect(cancelled()).toEqual([report.id]);

    // base failed: it and everything downstream go in again, behind the new ids; nothing else is touched.
    writeFileSync(join(run, 'models', 'base', 'job.log'), 'clearbench: out of luck\n');
    writeFileSync(join(run, 'models', 'base', 'slurm-exit.json'), JSON.stringify({ job_id: idOf.get('train:base'), exit_code: 1 }));
    const report2 = readManifest(run)!.report!.job_id;
    queue({ [idOf.get('train:base')!]: 'FAILED|NonZeroExitCode', ...waiting, [report2]: 'PENDING|Dependency' });
    const before = calls().length;
    const cancelledBefore = cancelled().length;
    const third = await submit(run);
    expect(third.out.reused).toEqual(['data']);
    expect(third.out.kept).toEqual([]);
    expect(third.out.submitted).toEqual(pl.stages.slice(1).map((s) => s.id));
    const resub = calls().slice(before);
    const newId = new Map(resub.map((c) => [c.name, c.id]));
    expect(dependency(resub.find((c) => c.name === 'train:base')!)).toBeNull(); // data is done
    expect(dependency(resub.find((c) => c.name === 'train:target')!)).toBe(`afterok:${newId.get('train:base')}`);
    expect(readManifest(run)!.stages.find((s) => s.id === 'train:target')!.job_id).toBe(newId.get('train:target'));
    // The old jobs still queued behind the failure (and the old report job) are cancelled, not left to Slurm.
    expect(cancelled().slice(cancelledBefore).sort()).toEqual(third.out.replaced.slice().sort());
    expect(third.out.replaced.sort()).toEqual([...pl.stages.slice(2).map((s) => idOf.get(s.id)!), report2].sort());
  });

  test('a stage whose key changed while its job is queued: that job is cancelled and the stage submitted again', async () => {
    const run = join(dir, 'changed');
    const { plan: pl } = await submit(run);
    const ids = new Map(readManifest(run)!.stages.map((s) => [s.id, s.job_id!]));
    queue(Object.fromEntries([...ids.values()].map((id) => [id, 'PENDING|Dependency'])));
    const before = cancelled().length;
    const { out } = await submit(run, ['methods[1].hyperparameters.beta=0.3']);
    const npo = ['train:npo-s0-forget10', 'eval:npo-s0-forget10:clear-forget10'];
    expect(out.submitted).toEqual(npo);
    expect(out.kept).toHaveLength(pl.stages.length - 2);
    expect(cancelled().slice(before)).toEqual(expect.arrayContaining(npo.map((id) => ids.get(id)!)));
  });
  test('sbatch, which exports its environment to the job and the controller\'s job record, never gets an access token; the rest of the environment passes', async () => {
    const saved = { HF_TOKEN: process.env.HF_TOKEN, HUGGING_FACE_HUB_TOKEN: process.env.HUGGING_FACE_HUB_TOKEN, CLEARBENCH_PROBE: process.env.CLEARBENCH_PROBE };
    const secret = 'hf_notforslurm0123456789';
    Object.assign(process.env, { HF_TOKEN: secret, HUGGING_FACE_HUB_TOKEN: secret, CLEARBENCH_PROBE: 'passed' });
    rmSync(join(dir, 'sbatch-env.log'), { force: true }); // the stand-in logs every test's calls
    try {
      const run = join(dir, 'token-run');
      const { plan: pl } = await submit(run);
      const seen = readFileSync(join(dir, 'sbatch-env.log'), 'utf8').trim().split('\n');
      expect(seen).toHaveLength(pl.stages.length + 1);
      expect(new Set(seen)).toEqual(new Set(['unset unset passed']));
      expect(readFileSync(join(run, 'slurm.json'), 'utf8')).not.toContain(secret);
      expect(readFileSync(join(run, 'models', 'target', 'slurm-job.sh'), 'utf8')).not.toContain(secret);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
