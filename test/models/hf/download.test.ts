/**
 * Model repos through the data layer's hub client: `model.hf` naming a repo id, or `clearbench download --model`,
 * fetches the files a Hugging Face model kind reads (config, tokenizer, safetensors) into the shared cache,
 * each verified, under `models--owner--name` (apart from a dataset repo of the same id), and nothing else:
 * not pickled weights, not folders such as Llama's original/. The loopback hub serves the parity fixtures.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { type HubServer, startHubServer } from '../../../src/data/hub/server.ts';
import { resolveHfSource } from '../../../src/models/hf/source.ts';
import { loadHfModel } from '../../../src/models/hf/hf-model.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/hf');
const CLI = join(import.meta.dirname, '../../../bin/clearbench.js');
let dir: string;
let hub: HubServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-model-dl-'));
  const sharded = join(dir, 'sharded');
  cpSync(join(FIXTURES, 'llama-gqa-tied-bf16-sharded'), sharded, { recursive: true });
  rmSync(join(sharded, 'expected.json'));
  rmSync(join(sharded, 'expected.safetensors'));
  // What real repos also hold: a PyTorch pickle, another checkpoint under original/, a card.
  writeFileSync(join(sharded, 'pytorch_model.bin'), Buffer.alloc(4096, 7));
  mkdirSync(join(sharded, 'original'));
  writeFileSync(join(sharded, 'original', 'consolidated.00.pth'), Buffer.alloc(4096, 9));
  writeFileSync(join(sharded, 'README.md'), '---\nlicense: mit\n---\n# tiny\n');
  const pickled = join(dir, 'pickled');
  mkdirSync(pickled);
  writeFileSync(join(pickled, 'config.json'), '{}');
  writeFileSync(join(pickled, 'pytorch_model.bin'), Buffer.alloc(64, 1));
  hub = await startHubServer({ models: { 'tiny/llama': sharded, 'tiny/pickled': pickled }, repos: { 'tiny/llama': join(FIXTURES, 'qwen2-gqa-untied-f32') } });
});

afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('model repos from the hub', () => {
  test('a repo id resolves to its verified snapshot at the commit, holding only the model files', async () => {
    const cacheDir = join(dir, 'cache-a');
    const r = await resolveHfSource('tiny/llama', 'main', { cacheDir, hubUrl: hub.url });
    expect(r.commit).toBe(hub.commitOf('tiny/llama', 'model'));
    expect(r.dir).toBe(join(cacheDir, 'hub', 'models--tiny--llama', 'snapshots', r.commit!));
    expect(readdirSync(r.dir).sort()).toEqual([
      'README.md', 'config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    // The downloaded model is the fixture, weight for weight.
    const got = loadHfModel(r.dir).params;
    const want = loadHfModel(join(FIXTURES, 'llama-gqa-tied-bf16-sharded')).params;
    expect(got.names()).toEqual(want.names());
    for (const n of want.names()) expect(Buffer.from(got.get(n).data.buffer).equals(Buffer.from(want.get(n).data.buffer))).toBe(true);
    // Nothing of the pickle or original/ was requested.
    expect(hub.requests.filter((q) => /pytorch_model|original/.test(q.path))).toEqual([]);
  });

  test('a second resolve is answered from the cache without a request', async () => {
    const cacheDir = join(dir, 'cache-b');
    await resolveHfSource('tiny/llama', 'main', { cacheDir, hubUrl: hub.url });
    const before = hub.requests.length;
    const again = await resolveHfSource('tiny/llama', 'main', { cacheDir, hubUrl: hub.url });
    expect(hub.requests.length).toBe(before);
    expect(again.commit).toBe(hub.commitOf('tiny/llama', 'model'));
  });

  test('a repo without safetensors weights is refused in one line naming it', async () => {
    await expect(resolveHfSource('tiny/pickled', 'main', { cacheDir: join(dir, 'cache-c'), hubUrl: hub.url }))
      .rejects.toThrow(/^tiny\/pickled@[0-9a-f]{12} has no \.safetensors weights \(clearbench does not load pickled \.bin\/\.pth files\); pick a revision or repo that has them$/);
  });

  // Asynchronous: the loopback hub runs in this process, so a synchronous spawn would starve it.
  const cli = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [CLI, 'download', ...args], { encoding: 'utf8' }, (err, stdout, stderr) => done({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });

  test('clearbench download --model fetches into models--…, apart from a dataset repo of the same id', async () => {
    const cacheDir = join(dir, 'cache-d');
    const run = (args: string[]) => cli([...args, '--cache-dir', cacheDir, '--hub-url', hub.url]);
    const m = await run(['--model', 'tiny/llama']);
    expect(m.stderr).not.toMatch(/Error/);
    expect(m.status).toBe(0);
    expect(m.stdout).toContain(`tiny/llama@main (commit ${hub.commitOf('tiny/llama', 'model').slice(0, 12)}): model, 7 file(s) downloaded`);
    const d = await run(['--dataset', 'tiny/llama']);
    expect(d.status).toBe(0);
    expect(readdirSync(join(cacheDir, 'hub')).sort()).toEqual(['datasets--tiny--llama', 'models--tiny--llama']);
    const bad = await run(['--model', 'tiny/llama', '--configs', 'x']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toBe('clearbench: --model downloads a model repo; it takes neither --dataset nor --configs');
  });
});
