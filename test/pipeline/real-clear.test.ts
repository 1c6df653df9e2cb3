/**
 * Real CLEAR end to end, offline: the synthetic generator in the real repositories' layout (`--layout hub`:
 * no pretrain, no holdout_perturbed, default in two shards, real_world's prompt column, reordered perturbed
 * columns, TOFU holdoutNN) served by the loopback hub as therem/CLEAR and locuslab/TOFU, and configs/clear.yaml
 * shrunk (tiny preset, forget10, two methods, both benchmarks) run to a leaderboard. The base trains by
 * emulated pretraining, every summary and the leaderboard say so, the resolved config records the commits,
 * TOFU's holdout10 gives the text benchmark its membership inference and the image benchmark says why it has none.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { type HubServer, startHubServer } from '../../src/data/hub/server.ts';
import { NO_HOLDOUT_REASON } from '../../src/eval/evaluate.ts';
import { plainDisplay } from '../../src/pipeline/console.ts';
import { type RunResult, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { readDataProvenance, readEvalSummary } from '../../src/results/contract.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string;
let server: HubServer;
let config: string;
let result: RunResult;
let printed = '';
const run = () => join(dir, 'run');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-real-clear-'));
  process.env.CLEARBENCH_CACHE = join(dir, 'cache'); // workers inherit it: the tensor cache stays in the test directory
  const data = join(dir, 'hub');
  await generateSynthetic({ outDir: data, persons: 5, imagesPerPerson: 2, wellKnown: 6, seed: 1, layout: 'hub' });
  server = await startHubServer({ dir: data });
  config = join(dir, 'clear-small.yaml');
  writeFileSync(config, `
extends: ${join(ROOT, 'configs', 'clear.yaml')}
name: clear-small
data: { hub: { hub_url: ${server.url}, cache_dir: ${join(dir, 'cache')} } }
model:
  preset: tiny
  vocab_size: 300
  recipes:
    base: { epochs: 2, lr: 3.0e-3, batch_size: 16 }
    target: { epochs: 2, lr: 3.0e-3, batch_size: 16 }
    gold: { epochs: 2, lr: 3.0e-3, batch_size: 16 }
forget_splits: [forget10]
unlearning: { epochs: 1, lr: 1.0e-3, batch_size: 4 }
methods: [{ name: ga }, { name: npo }]
seeds: [0]
eval: { benchmarks: [clear, tofu], ds_size: 4, max_new_tokens: 4, relearn_steps: 0 }
threads: 1
jobs: 2
`);
  result = await runPipeline({ config, out: run(), display: plainDisplay(() => {}), print: (t) => (printed += t) });
}, 600_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('configs/clear.yaml on the real repositories\' layout', () => {
  test('runs to a leaderboard with every stage done, from an emulated-pretraining base', () => {
    expect(result.outcome!.failed).toEqual([]);
    expect(result.outcome!.skipped).toEqual([]);
    const md = readFileSync(join(run(), 'leaderboard.md'), 'utf8');
    for (const model of ['target', 'gold-forget10', 'ga-s0-forget10', 'npo-s0-forget10']) expect(md).toContain(`| ${model} |`);
    expect(md).toContain('## clear · forget10');
    expect(md).toContain('## tofu · forget10');
    expect(md).toContain('base: emulated pretraining on the utility sets, so the Real columns measure how well a model retains items its base memorised');
    expect(md).toContain(`privacy not measured on clear: ${NO_HOLDOUT_REASON}`);
    expect(printed).toContain('leaderboard: ');
  });

  test('provenance: the data stage recorded the commits, every summary carries them, the resolved config names them', () => {
    const p = readDataProvenance(join(run(), 'data', '.provenance.json'));
    expect(p.base_data).toBe('emulated');
    expect(p.clear!.repo).toBe('therem/CLEAR');
    expect(p.clear!.configs).not.toContain('default'); // the 2-shard duplicate of full is never fetched
    const resolved = readFileSync(join(run(), 'resolved-config.yaml'), 'utf8');
    expect(resolved).toContain(`#   therem/CLEAR@main = commit ${p.clear!.commit}`);
    expect(resolved).toContain(`#   locuslab/TOFU@main = commit ${p.tofu!.commit}`);
    expect(resolved).toContain('# base: emulated pretraining on the utility sets');
    for (const model of ['target', 'gold-forget10', 'ga-s0-forget10', 'npo-s0-forget10']) {
      for (const bench of ['clear', 'tofu']) expect(readEvalSummary(join(run(), 'models', model, 'eval', `${bench}-forget10`, 'summary.json')).data).toEqual(p);
    }
  });

  test('membership inference: TOFU holdout10 on the text benchmark; none, with its reason, on the image benchmark', () => {
    const tofu = readEvalSummary(join(run(), 'models', 'npo-s0-forget10', 'eval', 'tofu-forget10', 'summary.json'));
    expect(tofu.privacy!.n_holdout).toBeGreaterThan(0);
    expect(tofu.privacy_reason).toBeNull();
    const clear = readEvalSummary(join(run(), 'models', 'npo-s0-forget10', 'eval', 'clear-forget10', 'summary.json'));
    expect(clear.privacy).toBeNull();
    expect(clear.privacy_reason).toBe(`${NO_HOLDOUT_REASON} (none of holdout_perturbed)`);
  });

  test('--dry-run prints the download plan with the sizes the listing gives, and the stage plan', async () => {
    let out = '';
    await runPipeline({ config, out: join(dir, 'dry'), dryRun: true, print: (t) => (out += t) });
    expect(out).toMatch(/^download plan \(only the configs this run reads\):\n {2}therem\/CLEAR@main \(commit [0-9a-f]{12}\): 7 of 21 configs, [0-9.]+ kB\n/);
    expect(out).toMatch(/\n {4}real_world +[0-9.]+ kB {2}1 file\(s\)\n/);
    expect(out).toContain('  base: emulated pretraining on the utility sets\n');
    expect(out).toContain('run clear-small → ');
  });
});
