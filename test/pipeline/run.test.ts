/**
 * `clearbench run` end to end on a tiny config (tiny model, 5 synthetic persons, two methods, short
 * evaluations), with real worker processes: a complete run and its reports, a cached second run that
 * trains nothing, a run killed mid-stage and restarted giving identical results, a changed hyperparameter
 * recomputing only what depends on it, and a failed job reported with its log and a non-zero exit code.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEvalSummary, readModelMeta } from '../../src/results/contract.ts';
import { plainDisplay } from '../../src/pipeline/console.ts';
import { type RunResult, formatPlan, prepareRun, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { RUN_LOCK, RUN_MARKER } from '../../src/results/layout.ts';
import { writeFailingPlugin } from '../helpers/failing-plugin.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'clearbench.js');

const CONFIG = `
name: e2e
data: { source: synthetic, synthetic: { persons: 5, images_per_person: 2, well_known: 6, seed: 1 } }
model:
  preset: tiny
  vocab_size: 300
  recipes:
    base: { epochs: 2, lr: 3.0e-3, batch_size: 16 }
    target: { epochs: 4, lr: 3.0e-3, batch_size: 8 }
    gold: { epochs: 2, lr: 3.0e-3, batch_size: 16 }
unlearning: { epochs: 1, lr: 1.0e-3, batch_size: 4 }
methods:
  - name: ga
  - name: npo
eval: { benchmarks: [clear], relearn_steps: 0, ds_size: 4, max_new_tokens: 4 }
threads: 1
jobs: 2
`;

const MODELS = ['base', 'ga-s0-forget10', 'gold-forget10', 'npo-s0-forget10', 'target'];
const ALL_STAGES = 11; // data, 5 trainings, 5 evaluations

let dir: string;
let config: string;
let runA: string;
let first: RunResult;
let firstPrinted = '';
const lines: string[] = [];

async function run(out: string, extra: { sets?: string[]; config?: string } = {}) {
  let printed = '';
  const r = await runPipeline({ config: extra.config ?? config, out, sets: extra.sets, display: plainDisplay((l) => lines.push(l)), print: (t) => (printed += t) });
  return { r, printed };
}

const summaryOf = (run: string, model: string) => join(run, 'models', model, 'eval', 'clear-forget10', 'summary.json');
/** The bytes of a model's summary.json (it holds no wall-clock time, so equal runs give equal bytes). */
const results = (run: string, model: string): string => readFileSync(summaryOf(run, model), 'utf8');
const weights = (run: string, model: string) => readFileSync(join(run, 'models', model, 'checkpoint', 'model.safetensors'));
const mtime = (p: string) => statSync(p).mtimeMs;
/** A process's command line ('' once it is gone). */
function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-pipeline-'));
  // Workers inherit the environment: keep their image-tensor cache inside the test directory.
  process.env.CLEARBENCH_CACHE = join(dir, 'cache');
  config = join(dir, 'e2e.yaml');
  writeFileSync(config, CONFIG);
  runA = join(dir, 'a');
  ({ r: first, printed: firstPrinted } = await run(runA));
}, 300_000);

afterAll(() => {
  delete process.env.CLEARBENCH_CACHE;
  rmSync(dir, { recursive: true, force: true });
});

describe('clearbench run', () => {
  test('a complete run: every stage, meta.json per model, the resolved config, the leaderboard and its paths', () => {
    expect(first.outcome!.failed).toEqual([]);
    expect(first.outcome!.ran).toHaveLength(ALL_STAGES);
    expect(readdirSync(join(runA, 'models')).sort()).toEqual(MODELS);
    for (const m of MODELS) {
      const meta = readModelMeta(join(runA, 'models', m, 'meta.json'));
      expect(meta.name).toBe(m);
      expect(readEvalSummary(summaryOf(runA, m)).model).toBe(m);
    }
    expect(readModelMeta(join(runA, 'models', 'npo-s0-forget10', 'meta.json'))).toMatchObject({
      role: 'unlearned', method: 'npo', hyperparameters: { beta: 0.1, alpha: 1 }, seed: 0, group: 'npo-forget10', forget_split: 'forget10', modality: 'joint',
    });
    expect(readModelMeta(join(runA, 'models', 'gold-forget10', 'meta.json'))).toMatchObject({ role: 'gold', hyperparameters: { epochs: 2, lr: 3e-3, batch_size: 16 } });
    // Gold is compared with its own evaluation: forget quality exactly 1.
    const gold = readEvalSummary(summaryOf(runA, 'gold-forget10'));
    expect([gold.forget_quality_ks, gold.forget_quality_js]).toEqual([1, 1]);
    expect(readEvalSummary(summaryOf(runA, 'target')).forget_quality_js).not.toBeNull();
    expect(readFileSync(join(runA, 'resolved-config.yaml'), 'utf8')).toContain('relearn_steps: 0');
    // What the plan evaluates, so that a report on a half-finished run can name what is missing.
    expect(JSON.parse(readFileSync(join(runA, 'expected-results.json'), 'utf8'))).toEqual({
      evaluations: expect.arrayContaining(MODELS.map((m) => `models/${m}/eval/clear-forget10`)),
    });
    expect(JSON.parse(readFileSync(join(runA, 'expected-results.json'), 'utf8')).evaluations).toHaveLength(MODELS.length);
    for (const f of ['leaderboard.md', 'leaderboard.csv', 'leaderboard.json', 'leaderboard.tex', 'report.html']) expect(existsSync(join(runA, f))).toBe(true);
    expect(firstPrinted).toContain(readFileSync(join(runA, 'leaderboard.md'), 'utf8').trim());
    expect(firstPrinted).toContain(`leaderboard: ${join(runA, 'leaderboard.md')}`);
    expect(firstPrinted).toContain(`report:      ${join(runA, 'report.html')}`);
    expect(lines).toContain(`run e2e → ${runA}: 0 of ${ALL_STAGES} stages reused, ${ALL_STAGES} to run`);
  });

  test('a second run reuses every stage: no job runs, no file of a model changes', async () => {
    const logs = MODELS.map((m) => join(runA, 'models', m, 'train_log.jsonl'));
    const before = logs.map(mtime);
    const jobLogs = MODELS.map((m) => mtime(join(runA, 'models', m, 'job.log')));
    const { r } = await run(runA);
    expect(r.outcome!.ran).toEqual([]);
    expect(r.outcome!.cached).toHaveLength(ALL_STAGES);
    expect(logs.map(mtime)).toEqual(before);
    expect(MODELS.map((m) => mtime(join(runA, 'models', m, 'job.log')))).toEqual(jobLogs);
    const plan = formatPlan(await prepareRun({ config, out: runA }));
    expect(plan).toContain(`${ALL_STAGES} stages: ${ALL_STAGES} cached, 0 to run`);
  }, 60_000);

  test('killed mid-stage (its worker then stops by itself) and restarted, the run completes with results identical to an uninterrupted one', async () => {
    const runB = join(dir, 'b');
    // Start from run A's finished data, base and gold (reused by key): the run goes straight to the target.
    for (const rel of [RUN_MARKER, 'data', join('models', 'base'), join('models', 'gold-forget10')]) cpSync(join(runA, rel), join(runB, rel), { recursive: true });
    const child: ChildProcess = spawn(process.execPath, [BIN, 'run', config, '--out', runB], { detached: true, stdio: 'ignore' });
    const targetLog = join(runB, 'models', 'target', 'train_log.jsonl');
    const started = Date.now();
    // Wait until the target is training (its log has steps), then kill the run and its workers.
    while (!(existsSync(targetLog) && readFileSync(targetLog, 'utf8').trim().length > 0)) {
      if (Date.now() - started > 120_000) throw new Error('the target never started training');
      if (child.exitCode !== null) throw new Error(`the run ended before it could be killed (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Kill the pipeline process alone: its worker notices (IPC disconnect) and stops by itself.
    const workers = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p) && cmdline(p).includes(join(runB, 'models', 'target', 'job.json')));
    expect(workers()).toHaveLength(1);
    process.kill(child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    while (workers().length && Date.now() - started < 150_000) await new Promise((r) => setTimeout(r, 50));
    const orphans = workers();
    if (orphans.length) process.kill(-child.pid!, 'SIGKILL'); // clean up before failing
    expect(orphans).toEqual([]);
    expect(existsSync(join(runB, 'models', 'target', 'done.json'))).toBe(false);
    expect(existsSync(join(runB, 'models', 'base', 'done.json'))).toBe(true);
    // The killed run could not release its lock: the next run sees its owner is gone and takes it over.
    expect(JSON.parse(readFileSync(join(runB, RUN_LOCK), 'utf8')).pid).toBe(child.pid);

    lines.length = 0;
    const { r } = await run(runB);
    expect(lines.find((l) => l.includes('took over the lock'))).toContain(`took over the lock of a run that ended without releasing it (pid ${child.pid} on host `);
    expect(existsSync(join(runB, RUN_LOCK))).toBe(false);
    expect(r.outcome!.failed).toEqual([]);
    expect(r.outcome!.ran).toContain('train:target');
    expect(r.outcome!.cached).toEqual(expect.arrayContaining(['data', 'train:base', 'train:gold-forget10']));
    for (const m of MODELS) {
      expect(results(runB, m)).toEqual(results(runA, m));
      expect(weights(runB, m).equals(weights(runA, m))).toBe(true);
    }
  }, 240_000);

  test('a changed hyperparameter recomputes only its run and evaluation; a removed method moves aside and comes back cached', async () => {
    const runC = join(dir, 'c');
    cpSync(runA, runC, { recursive: true });
    const changed = await run(runC, { sets: ['methods[1].hyperparameters.beta=0.2'] });
    expect(changed.r.outcome!.ran.sort()).toEqual(['eval:npo-s0-forget10:clear-forget10', 'train:npo-s0-forget10']);
    expect(readModelMeta(join(runC, 'models', 'npo-s0-forget10', 'meta.json')).hyperparameters.beta).toBe(0.2);
    expect(results(runC, 'ga-s0-forget10')).toEqual(results(runA, 'ga-s0-forget10'));

    const without = await run(runC, { sets: ['methods=[{name: ga}]'] });
    expect(without.r.outcome!.ran).toEqual([]);
    expect(existsSync(join(runC, 'unused', 'models', 'npo-s0-forget10', 'done.json'))).toBe(true);
    expect(readFileSync(join(runC, 'leaderboard.md'), 'utf8')).not.toContain('npo');

    const back = await run(runC, { sets: ['methods[1].hyperparameters.beta=0.2'] });
    expect(back.r.outcome!.ran).toEqual([]);
    expect(readFileSync(join(runC, 'leaderboard.md'), 'utf8')).toContain('npo-s0-forget10');
  }, 240_000);

  test('a failed job is reported with its log, does not stop the others, and the exit code is non-zero', () => {
    const runD = join(dir, 'd');
    cpSync(runA, runD, { recursive: true });
    writeFailingPlugin(dir);
    const failing = join(dir, 'failing.yaml');
    writeFileSync(failing, `extends: ./e2e.yaml\nplugins: [./boom.mts]\nmethods: [{ name: ga }, { name: boom }, { name: npo }]\n`);
    const r = spawnSync(process.execPath, [BIN, 'run', failing, '--out', runD], { encoding: 'utf8', env: process.env });
    const log = join(runD, 'models', 'boom-s0-forget10', 'job.log');
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 1 });
    expect(readFileSync(log, 'utf8')).toContain('boom: this method always fails');
    expect(r.stderr).toContain(`FAILED unlearn boom-s0-forget10: exit code 1 (clearbench: boom: this method always fails); log: ${log}`);
    expect(r.stderr).toContain('skip   eval boom-s0-forget10 on clear/forget10: an input failed');
    expect(r.stderr).toContain(
      `clearbench: 1 job(s) failed and 1 stage(s) that needed it were skipped (first: train:boom-s0-forget10, log ${log}); fix the cause and run again: finished stages are reused`,
    );
    // The other models' results are all there and reported.
    expect(r.stdout).toContain('| npo-s0-forget10 |');
    expect(r.stdout).toContain('| ga-s0-forget10 |');
    // The failed stage is not done, so the next run does not reuse it: it runs (and fails) again.
    expect(existsSync(join(runD, 'models', 'boom-s0-forget10', 'done.json'))).toBe(false);
    const again = spawnSync(process.execPath, [BIN, 'run', failing, '--out', runD], { encoding: 'utf8', env: process.env });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`FAILED unlearn boom-s0-forget10: exit code 1 (clearbench: boom: this method always fails); log: ${log}`);
    expect(again.stderr).toContain(`run failing → ${runD}: 11 of 13 stages reused, 2 to run`);
    expect(existsSync(join(runD, 'models', 'boom-s0-forget10', 'done.json'))).toBe(false);
  }, 180_000);

  test('a run directory of an older version (no run marker, its resolved config) is reused as it is and marked', async () => {
    const runE = join(dir, 'e');
    cpSync(runA, runE, { recursive: true });
    rmSync(join(runE, RUN_MARKER));
    const { r } = await run(runE);
    expect(r.outcome!.ran).toEqual([]);
    expect(r.outcome!.cached).toHaveLength(ALL_STAGES);
    expect(existsSync(join(runE, RUN_MARKER))).toBe(true);
  }, 60_000);

  test('--help documents the command; a config error is one line and exit code 1', () => {
    const help = spawnSync(process.execPath, [BIN, 'run', '--help'], { encoding: 'utf8' });
    expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
    for (const flag of ['--out', '--jobs', '--set', '--dry-run']) expect(help.stdout).toContain(flag);
    const bad = spawnSync(process.execPath, [BIN, 'run', config, '--set', 'methods[0].name=gaa', '--dry-run'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^clearbench: --set methods\[0\]\.name=gaa: methods\[0\]\.name: unknown method 'gaa' \(known: .*\); add a plugin file or fix the name\n$/);
  }, 60_000);
});
