/**
 * Who may write a run directory: a directory that is not a clearbench run is refused with nothing in it
 * touched, a stage directory holding someone else's files is refused, parked results are never deleted,
 * and a second run into a directory another run holds fails at once naming the holder while the first
 * finishes with its own leaderboard; the lock goes when a run ends or is interrupted.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tidyRunDir } from '../../src/pipeline/markers.ts';
import { claimRunDir } from '../../src/pipeline/run-dir.ts';
import { RUN_LOCK, RUN_MARKER } from '../../src/results/layout.ts';
import { prepareRun, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { plainDisplay } from '../../src/pipeline/console.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'clearbench.js');

// The smallest complete run: tiny data and model, one method, one-token evaluations.
const CONFIG = `
name: tiny
data: { source: synthetic, synthetic: { persons: 5, images_per_person: 2, well_known: 6, seed: 1 } }
model:
  preset: tiny
  vocab_size: 300
  recipes:
    base: { epochs: 1, lr: 3.0e-3, batch_size: 16 }
    target: { epochs: 1, lr: 3.0e-3, batch_size: 16 }
    gold: { epochs: 1, lr: 3.0e-3, batch_size: 16 }
unlearning: { epochs: 1, lr: 1.0e-3, batch_size: 4 }
methods: [{ name: ga }]
eval: { benchmarks: [clear], relearn_steps: 0, ds_size: 2, max_new_tokens: 2 }
threads: 1
jobs: 2
`;

let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-run-dir-'));
  process.env.CLEARBENCH_CACHE = join(dir, 'cache');
  config = join(dir, 'tiny.yaml');
  writeFileSync(config, CONFIG);
});

afterAll(() => {
  delete process.env.CLEARBENCH_CACHE;
  rmSync(dir, { recursive: true, force: true });
});

/** Every file under `root` with its content, so a test can say nothing in it changed. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(root.length + 1)] = readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}

const cli = (args: string[], timeout = 60_000) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: process.env, timeout });

async function waitFor(what: string, ok: () => boolean, child?: ChildProcess, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting until ${what}`);
    if (child && child.exitCode !== null) throw new Error(`the run ended (exit ${child.exitCode}) before ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a directory that is not ours', () => {
  test('--out on a foreign non-empty directory fails with one line and deletes or moves nothing in it, dry run included', () => {
    const foreign = join(dir, 'my-thesis');
    mkdirSync(join(foreign, 'data'), { recursive: true });
    mkdirSync(join(foreign, 'models', 'draft'), { recursive: true });
    writeFileSync(join(foreign, 'notes.txt'), 'two years of notes');
    writeFileSync(join(foreign, 'data', 'mine.csv'), 'a,b\n1,2\n');
    writeFileSync(join(foreign, 'models', 'draft', 'weights.bin'), 'precious');
    const before = snapshot(foreign);
    const want = `clearbench: ${foreign} is not a clearbench run directory (it holds files but no ${RUN_MARKER}), and a run clears and moves files in its directory; choose an empty or new --out\n`;
    for (const extra of [[], ['--dry-run']]) {
      const r = cli(['run', config, '--out', foreign, ...extra]);
      expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 1, stderr: want, stdout: '' });
      expect(snapshot(foreign)).toEqual(before);
    }
  }, 130_000);

  test("a stage directory in our run directory that holds someone else's files is refused before any work", async () => {
    const run = join(dir, 'stage-foreign');
    mkdirSync(join(run, 'models', 'target'), { recursive: true });
    writeFileSync(join(run, RUN_MARKER), '{}\n');
    writeFileSync(join(run, 'models', 'target', 'notes.txt'), 'mine');
    const before = snapshot(run);
    await expect(runPipeline({ config, out: run, display: plainDisplay(() => {}), print: () => {} })).rejects.toThrow(
      `${join(run, 'models', 'target')} holds files clearbench did not write (no .started.json or done.json), and train target would replace them; move them out of the run directory`,
    );
    expect(snapshot(run)).toEqual(before);
  });

  test('a run directory of an older version (its resolved config, no marker) is accepted and marked', async () => {
    const run = join(dir, 'legacy');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'resolved-config.yaml'), '# resolved from /somewhere/tiny.yaml\nname: tiny\n');
    let printed = '';
    // A dry run accepts it and writes nothing.
    await runPipeline({ config, out: run, dryRun: true, print: (t) => (printed += t) });
    expect(printed).toContain('run tiny →');
    expect(existsSync(join(run, RUN_MARKER))).toBe(false);
    // A run claims it: marker written, lock taken, and the lock goes on release.
    const claimed = claimRunDir(run, 'tiny');
    expect(JSON.parse(readFileSync(join(run, RUN_MARKER), 'utf8'))).toMatchObject({ name: 'tiny' });
    expect(JSON.parse(readFileSync(join(run, RUN_LOCK), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    claimed.lock.release();
    expect(existsSync(join(run, RUN_LOCK))).toBe(false);
    // A file that is not the resolved config a run writes is no evidence.
    const other = join(dir, 'not-legacy');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'resolved-config.yaml'), 'name: mine\n');
    await expect(runPipeline({ config, out: other, dryRun: true, print: () => {} })).rejects.toThrow('is not a clearbench run directory');
  });
});

describe('parked results', () => {
  test('moving a model aside merges it with its evaluation parked earlier: nothing is deleted', async () => {
    const run = join(dir, 'parked');
    const plan = (await prepareRun({ config, out: run, sets: ['methods=[{name: npo}]'] })).plan;
    const live = join(run, 'models', 'ga-s0-forget10');
    const parked = join(run, 'unused', 'models', 'ga-s0-forget10');
    for (const [f, text] of [
      [join(live, 'done.json'), 'live model'],
      [join(live, 'eval', 'clear-forget10', 'done.json'), 'live eval'],
      [join(parked, 'eval', 'tofu-forget10', 'done.json'), 'parked eval'],
      [join(parked, 'eval', 'clear-forget10', 'done.json'), 'older parked eval'],
    ]) {
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, text);
    }
    expect(tidyRunDir(plan)).toEqual([join('models', 'ga-s0-forget10')]);
    expect(existsSync(live)).toBe(false);
    expect(snapshot(parked)).toEqual({
      'done.json': 'live model',
      [join('eval', 'clear-forget10', 'done.json')]: 'live eval',
      [join('eval', 'clear-forget10~1', 'done.json')]: 'older parked eval',
      [join('eval', 'tofu-forget10', 'done.json')]: 'parked eval',
    });
  });
});

describe('one run per run directory', () => {
  test('a lock held by a live process fails the run at once, naming the holder, with nothing written', () => {
    const run = join(dir, 'held');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, RUN_MARKER), '{}\n');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    try {
      const since = new Date().toISOString();
      writeFileSync(join(run, RUN_LOCK), JSON.stringify({ pid: holder.pid, host: hostname(), since }));
      const t0 = Date.now();
      const r = cli(['run', config, '--out', run]);
      expect({ status: r.status, stderr: r.stderr }).toEqual({
        status: 1,
        stderr:
          `clearbench: ${run} is in use by another clearbench run (pid ${holder.pid} on host ${hostname()} since ${since}); ` +
          `wait for it to finish or choose another --out (if that run is gone, delete ${join(run, RUN_LOCK)})\n`,
      });
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(readdirSync(run).sort()).toEqual([RUN_LOCK, RUN_MARKER].sort());
      expect(JSON.parse(readFileSync(join(run, RUN_LOCK), 'utf8')).pid).toBe(holder.pid); // the holder's lock stays
    } finally {
      holder.kill('SIGKILL');
    }
  }, 60_000);

  test('two runs into one directory: the second fails at once naming the first, the first finishes with its own leaderboard', async () => {
    const run = join(dir, 'shared');
    let firstOut = '';
    let firstErr = '';
    const first = spawn(process.execPath, [BIN, 'run', config, '--out', run], { stdio: ['ignore', 'pipe', 'pipe'] });
    first.stdout!.on('data', (b: Buffer) => (firstOut += b.toString()));
    first.stderr!.on('data', (b: Buffer) => (firstErr += b.toString()));
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    try {
      await waitFor('the first run holds the lock', () => existsSync(join(run, RUN_LOCK)), first);
      // A different config: had it proceeded, its numbers would have replaced the first run's.
      const second = cli(['run', config, '--out', run, '--set', 'unlearning.lr=5e-3', '--set', 'seeds=[1]']);
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`^clearbench: ${run.replace(/[.]/g, '\\.')} is in use by another clearbench run \\(pid ${first.pid} on host ${hostname().replace(/[.]/g, '\\.')} since [0-9T:.Z-]+\\); wait for it to finish or choose another --out \\(if that run is gone, delete .*\\)\\n$`));
      expect(await exited).toBe(0);
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL');
    }
    expect(firstErr).not.toContain('FAILED');
    const leaderboard = readFileSync(join(run, 'leaderboard.md'), 'utf8').trim();
    expect(firstOut).toContain(leaderboard);
    expect(leaderboard).toContain('ga-s0-forget10');
    expect(leaderboard).not.toContain('-s1-');
    expect(readFileSync(join(run, 'resolved-config.yaml'), 'utf8')).not.toContain('--set');
    expect(existsSync(join(run, RUN_LOCK))).toBe(false);
    expect(existsSync(join(run, RUN_MARKER))).toBe(true);
  }, 300_000);

  test('an interrupted run (SIGINT) releases its lock', async () => {
    const run = join(dir, 'interrupted');
    const child = spawn(process.execPath, [BIN, 'run', config, '--out', run], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor('the run holds the lock', () => existsSync(join(run, RUN_LOCK)), child);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(existsSync(join(run, RUN_LOCK))).toBe(false);
  }, 120_000);
});
