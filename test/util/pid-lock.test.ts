/**
 * When a lock file counts as stale. On this host only a gone owner (dead pid, or a pid now held by a
 * process that started at another time) loses its lock, however old the file's mtime; a lock from
 * another host is judged by its refresh time alone.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStart, tryLock } from '../../src/util/pid-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'pid-lock-'));
const longAgo = new Date(Date.now() - 3_600_000);

function lockFile(name: string, holder: object, mtime = new Date()): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(holder));
  utimesSync(p, mtime, mtime);
  return p;
}

describe('pid-lock staleness', () => {
  // The parent of the Jest worker is alive for the whole test and is not this process.
  const live = process.ppid;

  test('processStart reads a start time for a live pid and none for a dead one', () => {
    expect(processStart(process.pid)).toEqual(expect.any(Number));
    expect(processStart(2 ** 22 + 12345)).toBeUndefined();
  });

  test('a live owner on this host keeps its lock even when the file was not refreshed for an hour', () => {
    const p = lockFile('blocked.lock', { pid: live, host: hostname(), since: 'x', start: processStart(live) }, longAgo);
    expect(tryLock(p).holder).toMatchObject({ pid: live });
  });

  test('a live pid that started at another time than the owner is a reused pid: the lock is taken over', () => {
    const p = lockFile('reused.lock', { pid: live, host: hostname(), since: 'x', start: (processStart(live) ?? 0) + 1 });
    const got = tryLock(p);
    expect(got.lock).toBeDefined();
    got.lock!.release();
  });

  test('a lock from another host is respected while fresh and stale once unrefreshed', () => {
    const fresh = lockFile('fresh.lock', { pid: 1, host: 'elsewhere.example', since: 'x' });
    expect(tryLock(fresh).holder).toMatchObject({ host: 'elsewhere.example' });
    const old = lockFile('old.lock', { pid: 1, host: 'elsewhere.example', since: 'x' }, longAgo);
    const got = tryLock(old);
    expect(got.lock).toBeDefined();
    got.lock!.release();
  });
});
