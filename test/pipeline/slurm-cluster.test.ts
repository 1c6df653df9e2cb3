/**
 * The Slurm executor on a real cluster: scripts/slurm-local.sh's one-node cluster on 127.0.0.1 (brought up
 * here when no cluster answers and we are root; .ci/run installs the packages). The smoke config, shrunk
 * to one benchmark, runs with --executor slurm: every stage is a Slurm job and the leaderboard equals the
 * local executor's, wall times aside. Faults: a method plugin that throws (submitted with --detach: its
 * dependents never start and status names it and its log; the final job still writes the leaderboard);
 * the submitting process killed while a stage is held running (a plugin that waits for the test's release), then it scancel'ed (status says cancelled, a rerun
 * resubmits only it and its dependent, `clearbench cancel` stops them, and a last rerun completes).
 * Outside CI the suite skips, saying why, where sbatch is not on PATH; in CI (CI=true) it always runs.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plainDisplay } from '../../src/pipeline/console.ts';
import { type RunResult, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { manifestJobIds, readManifest } from '../../src/pipeline/slurm/manifest.ts';
import { type StageState } from '../../src/pipeline/slurm/status.ts';
import { writeFailingPlugin } from '../helpers/failing-plugin.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'clearbench.js');

const HAVE_SBATCH = spawnSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).status === 0;
const IN_CI = process.env.CI === 'true';
if (!HAVE_SBATCH && !IN_CI) {
  process.stderr.write('test/pipeline/slurm-cluster.test.ts skipped: sbatch is not on PATH (apt-get install -y slurmctld slurmd slurm-client munge, then scripts/slurm-local.sh up as root)\n');
}
const describeCluster = HAVE_SBATCH || IN_CI ? describe : describe.skip;

// configs/smoke.yaml with one benchmark, no relearning and short evaluations (the whole check stays short).
const SMALL = (smoke: string) => `extends: ${smoke}
eval: { benchmarks: [clear], relearn_steps: 0, ds_size: 4, max_new_tokens: 4 }
threads: 1
`;
const STAGES = 11; // data, base, target, gold, ga, npo and their 5 evaluations

let dir: string;
let config: string;
let runL: string;
let runS: string;
let local: RunResult;
let onSlurm: RunResult;
const seconds = { local: 0, slurm: 0 };

interface Done {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI, spawned asynchronously (never spawnSync'ed while the event loop has work). */
function cli(args: string[]): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CLEARBENCH_SLURM_POLL_MS: '500' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Done>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  return { child, done };
}
const run = (args: string[]) => cli(args).done;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `clearbench status RUN --json`: the stages by id. */
async function status(runDir: string): Promise<{ stages: Map<string, StageState>; report: { status: string; job_id: string } | null }> {
  const r = await run(['status', runDir, '--json']);
  if (r.status !== 0) throw new Error(`clearbench status failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { stages: StageState[]; report: { status: string; job_id: string } | null };
  return { stages: new Map(j.stages.map((s) => [s.id, s])), report: j.report };
}

/** Polls status until `ok` holds (or fails after `ms`). */
async function waitFor(runDir: string, what: string, ok: (s: Awaited<ReturnType<typeof status>>) => boolean, ms = 150_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await status(runDir);
    if (ok(s)) return s;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...s.stages.values()].map((x) => [x.id, x.status]))}`);
    await sleep(500);
  }
}
const settled = (s: Awaited<ReturnType<typeof status>>) =>
  ![...s.stages.values()].some((x) => x.status === 'queued' || x.status === 'running') && !(s.report && ['queued', 'running'].includes(s.report.status));

/** leaderboard.json without what differs between two runs of one config: wall times and the run directory. */
function leaderboard(runDir: string): unknown {
  const rows = JSON.parse(readFileSync(join(runDir, 'leaderboard.json'), 'utf8')) as Record<string, unknown>[];
  return rows.map((r) => {
    const o = Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('wall_s') && k !== 'run_dir'));
    o.best = (r.best as string[]).filter((b) => !b.startsWith('wall_s'));
    return o;
  });
}

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describeCluster('clearbench run --executor slurm', () => {
  beforeAll(async () => {
    // A cluster that answers is used as it is; otherwise the local one is brought up (idempotent).
    if (HAVE_SBATCH && spawnSync('sinfo', ['-h'], { encoding: 'utf8' }).status !== 0) {
      const up = spawnSync(join(ROOT, 'scripts', 'slurm-local.sh'), ['up'], { encoding: 'utf8' });
      if (up.status !== 0) throw new Error(`scripts/slurm-local.sh up failed: ${up.stderr}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'clearbench-slurm-'));
    process.env.CLEARBENCH_CACHE = join(dir, 'cache'); // jobs inherit it (sbatch exports the environment)
    config = join(dir, 'small.yaml');
    writeFileSync(config, SMALL(join(ROOT, 'configs', 'smoke.yaml')));
    runL = join(dir, 'local');
    runS = join(dir, 'slurm');
    const quiet = { display: plainDisplay(() => {}), print: () => {} };
    let t0 = performance.now();
    local = await runPipeline({ config, out: runL, ...quiet });
    seconds.local = (performance.now() - t0) / 1000;
    t0 = performance.now();
    onSlurm = await runPipeline({ config, out: runS, executorName: 'slurm', pollMs: 500, ...quiet });
    seconds.slurm = (performance.now() - t0) / 1000;
    process.stderr.write(`smoke (shrunk): local executor ${seconds.local.toFixed(1)} s, Slurm executor ${seconds.slurm.toFixed(1)} s\n`);
  }, 400_000);

  afterAll(() => {
    delete process.env.CLEARBENCH_CACHE;
    // Jobs a failed test left in the queue go before their directories do.
    for (const name of ['slurm', 'failing', 'killed', 'unseen', 'nopart']) {
      const m = dir ? readManifestSafe(join(dir, name)) : null;
      if (m) spawnSync('scancel', manifestJobIds(m));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the smoke run: every stage is a Slurm job (done.json, meta.json), the leaderboard equals the local executor\'s, wall times aside', async () => {
    expect(local.outcome!.failed).toEqual([]);
    expect(onSlurm.outcome!.failed).toEqual([]);
    expect(onSlurm.outcome!.ran).toHaveLength(STAGES);
    const m = readManifest(runS)!;
    expect(m.stages).toHaveLength(STAGES);
    const ids = new Set<string>();
    for (const s of m.stages) {
      expect(s.job_id).toMatch(/^\d+$/);
      ids.add(s.job_id!);
      expect(json(s.marker)).toMatchObject({ stage: s.id, executor: 'slurm', slurm_job_id: s.job_id });
      // Stage logs are Slurm's output files: the worker's output went there.
      expect(existsSync(s.log)).toBe(true);
    }
    expect(ids.size).toBe(STAGES);
    expect(json(join(runS, 'models', 'npo-s0-forget10', 'meta.json'))).toMatchObject({ executor: 'slurm', slurm_job_id: m.stages.find((s) => s.id === 'train:npo-s0-forget10')!.job_id });
    expect(json(join(runL, 'models', 'npo-s0-forget10', 'meta.json'))).toMatchObject({ executor: 'local', slurm_job_id: null });
    expect(leaderboard(runS)).toEqual(leaderboard(runL));
    // The final job wrote the leaderboard too (the same content as the attached run's own).
    const st = await waitFor(runS, 'the report job', settled, 60_000);
    expect([...st.stages.values()].every((s) => s.status === 'done')).toBe(true);
    expect(st.report).toMatchObject({ status: 'done' });
    const text = await run(['status', runS]);
    expect(text.stdout).toContain(`Slurm: ${STAGES} stages: ${STAGES} done`);
    expect(text.stdout).toMatch(/done +train:target +job \d+ +\S+models\/target\/job\.log/);
  });

  test('a stage that fails (a plugin that throws), submitted with --detach: its dependent never starts; status names it and its log; the last job writes the leaderboard', async () => {
    const runF = join(dir, 'failing');
    cpSync(runS, runF, { recursive: true });
    writeFailingPlugin(dir);
    const failing = join(dir, 'failing.yaml');
    writeFileSync(failing, `extends: ./small.yaml\nplugins: [./boom.mts]\nmethods: [{ name: ga }, { name: boom }, { name: npo }]\n`);
    const sub = await run(['run', failing, '--out', runF, '--executor', 'slurm', '--detach']);
    expect({ status: sub.status, stderr: sub.stderr }).toMatchObject({ status: 0 });
    expect(sub.stderr).toMatch(new RegExp(`run failing → ${runF} on Slurm: 11 of 13 stages reused, 2 submitted \\(report: job \\d+\\)`));
    expect(sub.stdout).toContain(`submitted; follow with: clearbench status ${runF}`);
    const st = await waitFor(runF, 'the failing run to end', settled);
    const log = join(runF, 'models', 'boom-s0-forget10', 'job.log');
    expect(st.stages.get('train:boom-s0-forget10')).toMatchObject({ status: 'failed', detail: `exit code 1 (clearbench: boom: this method always fails); log: ${log}` });
    const evalBoom = st.stages.get('eval:boom-s0-forget10:clear-forget10')!;
    expect(evalBoom).toMatchObject({ status: 'skipped', detail: 'never started: input train:boom-s0-forget10 failed' });
    expect(existsSync(evalBoom.log)).toBe(false);
    expect(st.report).toMatchObject({ status: 'done' });
    const text = (await run(['status', runF])).stdout;
    expect(text).toContain('1 failed, 1 skipped');
    expect(text).toContain(log);
    // The report job wrote the leaderboard: every model but the failed one.
    const board = readFileSync(join(runF, 'leaderboard.md'), 'utf8');
    expect(board).toContain('| ga-s0-forget10 |');
    expect(board).not.toContain('boom-s0-forget10 |');
  }, 200_000);

  test('the submitting process killed: status works, a rerun leaves running and queued stages alone; a running stage scancel\'ed: status says so, a rerun resubmits only it and its dependent; cancel stops them; a last rerun completes', async () => {
    const runK = join(dir, 'killed');
    cpSync(runS, runK, { recursive: true });
    // npo's place is taken by 'hold', which runs until the test releases it (CLEARBENCH_TEST_RELEASE, which the
    // jobs inherit as sbatch exports the environment): caught running however fast the machine is.
    const release = join(dir, 'release-hold');
    process.env.CLEARBENCH_TEST_RELEASE = release;
    writeFileSync(
      join(dir, 'hold.mts'),
      `import { existsSync } from 'node:fs';\nimport { defineMethod, losses } from ${JSON.stringify(join(ROOT, 'src', 'methods', 'api.ts'))};\n` +
        "export default defineMethod({ name: 'hold', description: 'gradient ascent, once the test releases it', hyperparameters: {}, streams: ['forget'],\n" +
        '  loss: ({ s }) => {\n' +
        '    const pause = new Int32Array(new SharedArrayBuffer(4));\n' +
        '    while (process.env.CLEARBENCH_TEST_RELEASE && !existsSync(process.env.CLEARBENCH_TEST_RELEASE)) Atomics.wait(pause, 0, 0, 100);\n' +
        '    return losses.tokenCE(s.forget.logits, s.forget.labels).neg();\n' +
        '  } });\n',
    );
    const held = join(dir, 'held.yaml');
    writeFileSync(held, 'extends: ./small.yaml\nplugins: [./hold.mts]\nmethods: [{ name: ga }, { name: hold }]\n');
    const sets: string[] = [];
    const parent = cli(['run', held, '--out', runK, '--executor', 'slurm', ...sets]);
    const t0 = Date.now();
    while (!readManifestSafe(runK)?.report || readManifestSafe(runK)!.report!.job_id === readManifest(runS)!.report!.job_id) {
      if (Date.now() - t0 > 60_000) throw new Error('the run never finished submitting');
      await sleep(100);
    }
    parent.child.kill('SIGKILL');
    await parent.done;

    // From the run directory alone: hold queued or running, everything else done.
    const hold = 'train:hold-s0-forget10';
    const evalHold = 'eval:hold-s0-forget10:clear-forget10';
    const running = await waitFor(runK, 'hold to run', (s) => s.stages.get(hold)!.status === 'running');
    for (const [id, s] of running.stages) if (id !== hold && id !== evalHold) expect([id, s.status]).toEqual([id, 'done']);
    expect(running.stages.get(evalHold)!.status).toBe('queued');
    const first = running.stages.get(hold)!.job_id!;
    // Meanwhile a local run into the same directory is refused (a detached run holds no lock).
    const localRun = await run(['run', held, '--out', runK, ...sets]);
    expect(localRun.status).toBe(1);
    expect(localRun.stderr).toMatch(/^clearbench: \d Slurm job\(s\) of .* are still queued or running \(first: train:hold-s0-forget10\); wait for them, stop them with clearbench cancel .*, or run again with --executor slurm\n$/);
    // A rerun now leaves the running stage and its queued dependent alone (only the report job is replaced).
    const meanwhile = await run(['run', held, '--out', runK, '--executor', 'slurm', '--detach', ...sets]);
    expect(meanwhile.status).toBe(0);
    expect(meanwhile.stderr).toContain('on Slurm: 9 of 11 stages reused, 0 submitted, 2 left queued or running');
    expect(readManifest(runK)!.stages.find((s) => s.id === hold)!.job_id).toBe(first);
    expect(spawnSync('scancel', [first]).status).toBe(0);
    const cancelled = await waitFor(runK, 'hold to be cancelled', (s) => s.stages.get(hold)!.status === 'cancelled');
    expect(cancelled.stages.get(hold)!.detail).toContain('cancel');
    expect(['skipped', 'cancelled']).toContain(cancelled.stages.get(evalHold)!.status);

    // A rerun (detached) resubmits exactly the cancelled stage and its dependent.
    const again = await run(['run', held, '--out', runK, '--executor', 'slurm', '--detach', ...sets]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain(`on Slurm: 9 of 11 stages reused, 2 submitted`);
    const resubmitted = readManifest(runK)!.stages.find((s) => s.id === hold)!.job_id!;
    expect(resubmitted).not.toBe(first);
    // clearbench cancel stops what is queued or running: both stages and the report job.
    const cancel = await run(['cancel', runK]);
    expect(cancel.status).toBe(0);
    expect(cancel.stdout).toMatch(/^cancelled 3 Slurm job\(s\): /);
    const afterCancel = await waitFor(runK, 'the cancelled jobs to leave the queue', settled, 60_000);
    expect(afterCancel.stages.get(hold)!.status).toBe('cancelled');
    expect(afterCancel.stages.get(evalHold)!.status).toBe('cancelled');
    expect((await run(['cancel', runK])).stdout).toBe('nothing of this run is queued or running\n');

    // The last rerun, attached, completes them (released now) and prints the leaderboard.
    writeFileSync(release, '');
    const last = await run(['run', held, '--out', runK, '--executor', 'slurm', ...sets]);
    expect({ status: last.status, stderr: last.stderr }).toMatchObject({ status: 0 });
    expect(last.stderr).toContain(`on Slurm: 9 of 11 stages reused, 2 submitted`);
    expect(last.stdout).toContain('| hold-s0-forget10 |');
    const done = await status(runK);
    expect([...done.stages.values()].every((s) => s.status === 'done')).toBe(true);
    expect(json(join(runK, 'models', 'hold-s0-forget10', 'meta.json'))).toMatchObject({ executor: 'slurm', slurm_job_id: done.stages.get(hold)!.job_id });
  }, 300_000);

  test('a node that cannot see the run directory: the job stops at once and the run fails in one line saying what must be shared', async () => {
    const runU = join(dir, 'unseen');
    // The data job is held for 8 s (submitting every job takes about 1 s); meanwhile the run directory
    // "disappears" from the node's view.
    const sets = ['--set', 'slurm.extra_args=["--begin=now+8"]', '--set', 'methods=[{name: ga}]'];
    const parent = cli(['run', config, '--out', runU, '--executor', 'slurm', ...sets]);
    const t0 = Date.now();
    while (!readManifestSafe(runU)?.report) {
      if (Date.now() - t0 > 60_000) throw new Error('the run never finished submitting');
      await sleep(100);
    }
    rmSync(join(runU, '.clearbench-run.json'));
    const r = await parent.done;
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^clearbench: data: Slurm says the job failed \\(NonZeroExitCode\\) \\(clearbench: the run directory and clearbench itself must be on a filesystem the nodes share: node \\S+ cannot see ${runU}/\\.clearbench-run\\.json\\); log: ${runU}/data\\.log$`),
    );
  }, 120_000);

  test('a setting the cluster refuses (an unknown partition) is one line naming it and the fix', async () => {
    const r = await run(['run', config, '--out', join(dir, 'nopart'), '--executor', 'slurm', '--set', 'slurm.partition=no-such-partition']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^clearbench: sbatch failed: .*(partition|Partition).* \(submitting data\); fix the slurm settings of the config and run again \(jobs submitted before it stay queued: clearbench status .*\)\n$/);
  });

  test('--detach needs the Slurm executor; status of a local run says it was not a Slurm run', async () => {
    const bad = await run(['run', config, '--out', join(dir, 'x'), '--detach', '--dry-run']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('clearbench: --detach needs the Slurm executor (--executor slurm, or executor: slurm in the config): a local run ends with its workers\n');
    const missing = await run(['status', runL]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`was not run with --executor slurm`);
  });
});

function readManifestSafe(runDir: string) {
  try {
    return readManifest(runDir);
  } catch {
    return null;
  }
}
