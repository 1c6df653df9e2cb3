/**
 * Several downloads into one cache at once (in one process, and as separate `clearbench
 * download` processes): all succeed, each file is fetched once, and no lock or partial is
 * left behind. The per-file lock itself: a live holder is named, a dead one's lock is taken over.
 */
import { describe, test, expect } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { downloadRepo } from '../../src/data/hub/download.ts';
import { SnapshotCache } from '../../src/data/hub/snapshot-cache.ts';
import { describeHolder, tryLock } from '../../src/util/pid-lock.ts';
import { servedTinyDataset } from './helpers.ts';

const CONFIGS = ['forget10', 'retain90', 'forget01'];
const hub = servedTinyDataset('concurrent');

function filesUnder(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(d, join(e.parentPath, e.name)))
    .sort();
}

/** Every requested file is in the snapshot with the served bytes; nothing is left in partial/. */
function expectComplete(cacheDir: string, expected: string[]): void {
  const cache = new SnapshotCache(cacheDir, 'therem/CLEAR');
  const commit = hub.server.commitOf('therem/CLEAR');
  for (const p of expected) expect([p, readFileSync(cache.finalPath(commit, p)).equals(readFileSync(join(hub.dir, p)))]).toEqual([p, true]);
  expect(filesUnder(join(cache.repoDir, 'partial'))).toEqual([]);
}

describe('concurrent downloads into one cache', () => {
  test('three at once in one process: all succeed, each file is fetched once', async () => {
    const cacheDir = hub.freshCache();
    hub.server.faults.delayMs = 40; // every file response waits, so the three runs overlap on every file
    const results = await Promise.allSettled([0, 1, 2].map(() => downloadRepo({ repo: 'therem/CLEAR', hubUrl: hub.server.url, cacheDir, configs: CONFIGS })));
    expect(results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
    const ok = results.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof downloadRepo>>>).value);
    const wanted = [...new Set([...ok[0].downloaded, ...ok[0].skipped])].sort();
    for (const r of ok) expect([...r.downloaded, ...r.skipped].sort()).toEqual(wanted);
    // Together they downloaded every file exactly once; the others found it done.
    expect(ok.flatMap((r) => r.downloaded).sort()).toEqual(wanted);
    expectComplete(cacheDir, wanted);
  });

  test('three `clearbench download` processes at once: all exit 0 with the same snapshot', async () => {
    const cacheDir = hub.freshCache();
    hub.server.faults.delayMs = 40;
    const cli = () =>
      new Promise<{ status: number; out: string; err: string }>((resolve) => {
        execFile(
          process.execPath,
          // --refresh: a process that starts late still asks the hub (rather than answering from the finished cache).
          ['bin/clearbench.js', 'download', '--refresh', '--hub-url', hub.server.url, '--cache-dir', cacheDir, '--configs', CONFIGS.join(',')],
          { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, HF_TOKEN: '' }, encoding: 'utf8' },
          (e, stdout, stderr) => resolve({ status: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
        );
      });
    const runs = await Promise.all([cli(), cli(), cli()]);
    expect(runs.map((r) => [r.status, r.err])).toEqual([
      [0, ''],
      [0, ''],
      [0, ''],
    ]);
    const snapshots = new Set(runs.map((r) => r.out.trim().split('\n')[1]));
    expect(snapshots.size).toBe(1);
    // Each file was fetched by one process only: the downloaded counts add up to the file count.
    const counts = runs.map((r) => /(\d+) file\(s\) downloaded, (\d+) already cached/.exec(r.out)!.slice(1).map(Number));
    const total = counts[0][0] + counts[0][1];
    for (const [downloaded, cached] of counts) expect(downloaded + cached).toBe(total);
    expect(counts.reduce((s, [downloaded]) => s + downloaded, 0)).toBe(total);
    const cache = new SnapshotCache(cacheDir, 'therem/CLEAR');
    expect(filesUnder(join(cache.repoDir, 'partial'))).toEqual([]);
  });
});

describe('the per-file lock', () => {
  test('a live holder is named; a dead holder’s lock (same host) is taken over; release removes it', () => {
    const lockDir = join(hub.root, 'locks');
    mkdirSync(lockDir, { recursive: true });
    const live = join(lockDir, 'live.lock');
    const since = new Date().toISOString();
    writeFileSync(live, JSON.stringify({ pid: process.ppid, host: hostname(), since }));
    const busy = tryLock(live);
    expect(busy.lock).toBeUndefined();
    expect(busy.holder).toEqual({ pid: process.ppid, host: hostname(), since });
    expect(describeHolder(busy.holder!)).toBe(`pid ${process.ppid} on host ${hostname()} since ${since}`);

    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(exited.stdout);
    const dead = join(lockDir, 'dead.lock');
    writeFileSync(dead, JSON.stringify({ pid: deadPid, host: hostname(), since }));
    const got = tryLock(dead);
    expect(got.holder).toBeUndefined();
    expect(JSON.parse(readFileSync(dead, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    // While held, this process's own second attempt waits like anyone else's.
    expect(tryLock(dead).holder).toMatchObject({ pid: process.pid });
    got.lock!.release();
    expect(existsSync(dead)).toBe(false);
  });

  test('a download finds a stale lock left by a killed download and proceeds', async () => {
    const cacheDir = hub.freshCache();
    const cache = new SnapshotCache(cacheDir, 'therem/CLEAR');
    const commit = hub.server.commitOf('therem/CLEAR');
    const shard = 'forget10/train-00000-of-00001.parquet';
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(join(cache.lockPath(commit, shard), '..'), { recursive: true });
    writeFileSync(cache.lockPath(commit, shard), JSON.stringify({ pid: Number(exited.stdout), host: hostname(), since: new Date(0).toISOString() }));
    const r = await downloadRepo({ repo: 'therem/CLEAR', hubUrl: hub.server.url, cacheDir, configs: ['forget10'] });
    expect(r.downloaded).toContain(shard);
    expect(existsSync(cache.lockPath(commit, shard))).toBe(false);
  });
});
