/**
 * The device a graph runs on: CLEARBENCH_DEVICE (set by `--device`) names cpu or cuda; any other name is
 * refused in one line. On a machine whose onnxruntime-node has no CUDA provider library (the npm package
 * does not bundle it; this project skips the download), a CUDA session fails in one line naming the missing
 * file and the fix; where the library is installed, the same graph computes the same values as on the CPU.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Graph } from '../../src/engine/graph.ts';
import { CompiledGraph, cudaProviderLibrary, selectedDevice } from '../../src/engine/session.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'clearbench.js');
const saved = process.env.CLEARBENCH_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.CLEARBENCH_DEVICE;
  else process.env.CLEARBENCH_DEVICE = saved;
});

function affine() {
  const g = new Graph();
  const x = g.input('x', [2, 3]);
  const w = g.input('w', [3, 2]);
  return { g, out: { y: x.matmul(w).add(0.5) } };
}
const feeds = { x: new Float32Array([1, 2, 3, 4, 5, 6]), w: new Float32Array([1, 0, 0, 1, 1, 1]) };
// x·w + 0.5, by hand: [1+3, 2+3; 4+6, 5+6] + 0.5
const EXPECTED = [4.5, 5.5, 10.5, 11.5];

describe('--device', () => {
  test('cpu is the default, and a name that is no device is refused in one line', () => {
    delete process.env.CLEARBENCH_DEVICE;
    expect(selectedDevice()).toBe('cpu');
    process.env.CLEARBENCH_DEVICE = 'tpu';
    expect(() => selectedDevice()).toThrow('CLEARBENCH_DEVICE=tpu is not a device; use cpu or cuda (--device)');
  });

  test('the CLI refuses an unknown device before any work, exit 1', async () => {
    const r = await promisify(execFile)(process.execPath, [BIN, 'bench', 'train', '--steps', '1', '--warmup', '1', '--device', 'gpu']).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 1, stderr: 'clearbench: CLEARBENCH_DEVICE=gpu is not a device; use cpu or cuda (--device)\n' });
  });

  test('cuda: one line naming the missing provider library, or the CPU values where it is installed', async () => {
    const { g, out } = affine();
    process.env.CLEARBENCH_DEVICE = 'cuda';
    const lib = cudaProviderLibrary();
    if (!existsSync(lib)) {
      await expect(CompiledGraph.compile(g, out, { threads: 1 })).rejects.toThrow(
        `--device cuda: onnxruntime-node has no CUDA execution provider (${lib} is missing); install its CUDA 12 binaries (README, "Devices") or run on the CPU (--device cpu)`,
      );
      return;
    }
    const session = await CompiledGraph.compile(g, out, { threads: 1 });
    expect([...((await session.run(feeds)).y.data as Float32Array)]).toEqual(EXPECTED);
    session.release();
  });

  test('cpu computes the hand-computed values', async () => {
    const { g, out } = affine();
    const session = await CompiledGraph.compile(g, out, { threads: 1 });
    expect([...((await session.run(feeds)).y.data as Float32Array)]).toEqual(EXPECTED);
    session.release();
  });
});
