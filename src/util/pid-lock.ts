/**
 * Exclusive lock files shared between processes: created with O_EXCL ('wx') and holding the
 * owner's pid, host and (on Linux) the process's start time. On this host a lock is stale exactly
 * when its owner is gone: the pid is dead, or now belongs to a process that started at another time
 * (a reused pid). A live owner keeps its lock however long its event loop is blocked. An owner on
 * another host cannot be asked, so there the holder refreshes the file's mtime while it lives and
 * a lock nobody has refreshed for STALE_MS is stale. Held locks go on process exit.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** The owner's start time in clock ticks after boot (/proc/<pid>/stat field 22), where known. */
  start?: number;
}

export interface HeldLock {
  readonly path: string;
  release(): void;
}

export type LockAttempt = { lock: HeldLock; holder?: undefined } | { lock?: undefined; holder: LockHolder };

const STALE_MS = 60_000;
const REFRESH_MS = 10_000;

/** Locks this process holds, by path (to tell our own live locks from a dead process that had our pid). */
const held = new Map<string, string>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** A process's start time (Linux), which tells a live owner from an unrelated process given its pid later. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces or ')'.
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return undefined;
    return { pid: h.pid, host: h.host, since: String(h.since ?? ''), ...(typeof h.start === 'number' ? { start: h.start } : {}) };
  } catch {
    return undefined;
  }
}

function isStale(path: string, text: string, holder: LockHolder | undefined, mtimeMs: number): boolean {
  if (!holder) return Date.now() - mtimeMs > 2_000; // unreadable: give a writer in progress a moment
  if (holder.host !== hostname()) return Date.now() - mtimeMs > STALE_MS;
  if (holder.pid === process.pid) return held.get(path) !== text;
  if (!alive(holder.pid)) return true;
  return holder.start !== undefined && processStart(holder.pid) !== holder.start;
}

/** "pid 123 on host box since 2024-…", for messages that name who holds a lock. */
export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.host}${h.since ? ` since ${h.since}` : ''}`;
}

/** Take the lock at `path` now, or say who holds it. Stale locks are removed and taken over. */
export function tryLock(path: string): LockAttempt {
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    const start = processStart(process.pid);
    const text = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(start === undefined ? {} : { start }) });
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      return { lock: hold(path, text) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let theirs: string;
    let mtimeMs: number;
    try {
      theirs = readFileSync(path, 'utf8');
      mtimeMs = statSync(path).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    const holder = parseHolder(theirs);
    if (!isStale(path, theirs, holder, mtimeMs)) return { holder: holder ?? { pid: 0, host: 'unknown', since: '' } };
    // Remove it only if it is still the stale lock we judged (another waiter may have replaced it).
    try {
      if (readFileSync(path, 'utf8') === theirs) rmSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Take the lock at `path`, waiting while a live owner holds it. */
export async function waitForLock(path: string, pollMs = 100): Promise<HeldLock> {
  for (;;) {
    const got = tryLock(path);
    if (got.lock) return got.lock;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Run `fn` holding the lock at `path` (waiting for it), and release it afterwards. */
export async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = await waitForLock(path);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

function hold(path: string, text: string): HeldLock {
  held.set(path, text);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const [p, t] of held) releaseFile(p, t);
    });
  }
  const timer = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // gone (removed by hand): nothing to refresh
    }
  }, REFRESH_MS);
  timer.unref();
  return {
    path,
    release() {
      clearInterval(timer);
      if (held.get(path) !== text) return;
      held.delete(path);
      releaseFile(path, text);
    },
  };
}

/** Delete the lock file if it is still ours. */
function releaseFile(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path);
  } catch {
    // already gone
  }
}
