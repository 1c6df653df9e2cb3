/** The hand-made fixture run of the report tests, and private copies of it that a test may edit. */
import { afterAll } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_RUN = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'run-a');

/** A scratch directory for the calling test file, removed after its tests. */
export function scratchDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `clearbench-${tag}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A private copy of the fixture run under `scratch`. */
export function copyRun(scratch: string, name: string): string {
  const dir = join(scratch, name);
  cpSync(FIXTURE_RUN, dir, { recursive: true });
  return dir;
}

export function editJson(file: string, edit: (o: Record<string, any>) => void): void {
  const o = JSON.parse(readFileSync(file, 'utf8'));
  edit(o);
  writeFileSync(file, JSON.stringify(o, null, 2));
}
