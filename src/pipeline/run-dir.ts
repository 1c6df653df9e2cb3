/**
 * Who owns a run directory. A run directory carries a marker file written when a run first claims it, so
 * the harness never clears or moves files in a directory it did not create (a mistyped `--out ~`); and
 * while a run works in it, an exclusive lock file (pid, host, start time), so a second run into the same
 * directory fails at once instead of mixing its results with the first's.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { RESOLVED_CONFIG, RUN_LOCK, RUN_MARKER } from '../results/layout.ts';
import { type HeldLock, type LockHolder, describeHolder, tryLock } from '../util/pid-lock.ts';

/** How the resolved config begins (see resolvedYaml). */
export const RESOLVED_HEADER = '# resolved from ';

export type RunDirState = 'new' | 'ours' | 'legacy';

function readHead(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(0, RESOLVED_HEADER.length);
  } catch {
    return '';
  }
}

/**
 * Whether a run may work in `runDir`: absent or empty ('new'), marked by clearbench ('ours'), or a run
 * directory of an older version, recognised by the resolved config it saved ('legacy'). Anything else is
 * someone else's directory: a UserError, before anything is written.
 */
export function runDirState(runDir: string): RunDirState {
  if (!existsSync(runDir)) return 'new';
  if (!statSync(runDir).isDirectory()) throw new UserError(`${runDir} is a file, not a run directory; choose an empty or new --out`);
  if (existsSync(join(runDir, RUN_MARKER))) return 'ours';
  // A lock alone is what a run that died before writing its marker leaves.
  if (readdirSync(runDir).every((n) => n === RUN_LOCK)) return 'new';
  if (readHead(join(runDir, RESOLVED_CONFIG)) === RESOLVED_HEADER) return 'legacy';
  throw new UserError(
    `${runDir} is not a clearbench run directory (it holds files but no ${RUN_MARKER}), and a run clears and moves files in its directory; choose an empty or new --out`,
  );
}

export interface ClaimedRunDir {
  lock: HeldLock;
  /** The holder of a stale lock this run took over (its run ended without releasing it). */
  tookOverFrom?: LockHolder;
}

function peekHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? { pid: h.pid, host: h.host, since: String(h.since ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the run directory for this process: checks it is ours to write, takes its lock (or fails naming
 * the run that holds it) and writes the run marker. Release the lock when the run ends.
 */
export function claimRunDir(runDir: string, configName: string): ClaimedRunDir {
  const state = runDirState(runDir);
  const lockFile = join(runDir, RUN_LOCK);
  const before = peekHolder(lockFile);
  const got = tryLock(lockFile);
  if (!got.lock) {
    throw new UserError(
      `${runDir} is in use by another clearbench run (${describeHolder(got.holder)}); wait for it to finish or choose another --out ` +
        `(if that run is gone, delete ${lockFile})`,
    );
  }
  try {
    if (state !== 'ours') {
      writeFileAtomic(join(runDir, RUN_MARKER), `${JSON.stringify({ clearbench: 'run directory', name: configName, created: new Date().toISOString() }, null, 2)}\n`);
    }
  } catch (err) {
    got.lock.release();
    throw err;
  }
  return { lock: got.lock, tookOverFrom: before };
}
