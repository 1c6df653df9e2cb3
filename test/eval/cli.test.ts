/**
 * `clearbench eval` as a user runs it: a model directory written by saveCheckpoint, the default output
 * directory and model name, the same per-sample bytes as an in-process evaluation of the same parameters,
 * and one-line errors for bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveCheckpoint } from '../../src/models/checkpoint.ts';
import { getBenchmark } from '../../benchmarks/index.ts';
import { evaluate } from '../../src/eval/evaluate.ts';
import { readEvalSummary } from '../../src/results/contract.ts';
import { type EvalFixture, cleanup, evalFixture } from './fixture.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let fx: EvalFixture;
let modelDir: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clearbench.js'), 'eval', ...args], { encoding: 'utf8', cwd: fx.root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  fx = await evalFixture('eval-cli');
  modelDir = join(fx.root, 'run', 'models', 'tiny-target');
  saveCheckpoint(join(modelDir, 'checkpoint'), { store: fx.model.params, config: fx.model.config, tokenizer: fx.model.tokenizer, preset: 'tiny' });
}, 60_000);

afterAll(() => cleanup(fx));

describe('clearbench eval', () => {
  test('evaluates a model directory into <model>/eval/<benchmark>-<split>, bytes as in-process', async () => {
    const args = ['--data', fx.dataDir, '--ds-size', '3', '--max-new-tokens', '4', '--threads', '1', '--cache-dir', join(fx.root, 'cache')];
    const r = cli('--model', modelDir, ...args);
    expect(r.stderr).toContain('forget: 2 samples (forget10_perturbed)');
    expect(r.code).toBe(0);
    const out = join(modelDir, 'eval', 'clear-forget10');
    expect(r.stdout).toContain(`tiny-target on clear/forget10 → ${out}`);
    const summary = readEvalSummary(join(out, 'summary.json'));
    expect(summary.model).toBe('tiny-target');
    expect(summary.tasks.real_world.n).toBe(3);

    const inProcess = join(fx.root, 'in-process');
    await evaluate({ model: fx.model, dataDir: fx.dataDir, benchmark: getBenchmark('clear'), outDir: inProcess, dsSize: 3, maxNewTokens: 4, threads: 1 });
    const files = readdirSync(out).filter((f) => f.endsWith('.samples.json')).sort();
    expect(files.length).toBe(7);
    for (const f of files) expect(readFileSync(join(inProcess, f)).equals(readFileSync(join(out, f)))).toBe(true);
  });

  test('bad input ends in one line naming the problem and the fix', () => {
    const noData = cli('--model', modelDir);
    expect(noData.code).toBe(1);
    expect(noData.stderr).toBe('clearbench: eval needs the dataset: pass --data <dir> (a CLEAR-layout directory, e.g. from `clearbench synth --out <dir>`)\n');
    const noModel = cli('--model', join(fx.root, 'absent'), '--data', fx.dataDir);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr.trim().split('\n')).toHaveLength(1);
    expect(noModel.stderr).toMatch(/absent.*does not exist/);
    const badBench = cli('--model', modelDir, '--data', fx.dataDir, '--benchmark', 'mmlu');
    expect(badBench.code).not.toBe(0);
    expect(badBench.stderr).toMatch(/Allowed choices are clear, tofu/);
  });

  test('--help lists the options', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const flag of ['--model', '--benchmark', '--forget-split', '--gold', '--out', '--data', '--ds-size', '--max-new-tokens', '--relearn']) expect(r.stdout).toContain(flag);
  });
});
