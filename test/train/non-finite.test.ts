/**
 * `clearbench train` with an absurd learning rate: the first step pushes the weights to ~1e30, the second
 * step's loss is NaN, and the command stops there with one line, exit 1 and no checkpoint.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../src/data/synth/generate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let root: string;
let data: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clearbench-nonfinite-'));
  data = join(root, 'data');
  await generateSynthetic({ outDir: data, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function train(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clearbench.js'), 'train', ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('clearbench train --lr 1e30', () => {
  test('stops at the first NaN step with one line naming it and the fix, and writes no checkpoint', () => {
    const out = join(root, 'base');
    const r = train('--recipe', 'base', '--data', data, '--out', out, '--preset', 'tiny', '--vocab-size', '300', '--epochs', '1', '--lr', '1e30', '--threads', '1');
    expect(r.stderr).toMatch(
      /^clearbench: training stopped at step 2 of \d+ \(epoch 1 of 1\): non-finite loss NaN, gradient norm NaN; no checkpoint was written; lower the learning rate \(--lr, or model\.recipes\.base\.lr in a run config\)\n$/,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
    // The log keeps the one finite step, for diagnosis.
    const log = readFileSync(join(out, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(log.map((l) => l.step)).toEqual([1]);
    expect(Number.isFinite(log[0].loss)).toBe(true);
  }, 60_000);
});
