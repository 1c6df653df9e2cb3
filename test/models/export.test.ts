/**
 * The exported ONNX file is standalone: onnxruntime runs it directly from the data inputs (no weight
 * feeds) and gives the logits of the in-harness forward, where the weights are fed as inputs.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph } from '../../src/engine/graph.ts';
import { ParamStore, bindParams } from '../../src/engine/params.ts';
import { CompiledGraph, type Feeds } from '../../src/engine/session.ts';
import { type VLMConfig, declareInputs, initVLM, preset, vlmForward } from '../../src/models/vlm.ts';
import { type EncodedSample, makeBatch } from '../../src/models/batch.ts';
import { serialize } from '../../src/engine/onnx.ts';
import { exportModel } from '../../src/models/export.ts';
import { VlmModel } from '../../src/models/vlm-model.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { SPECIAL_IDS } from '../../src/models/tokenizer/special-tokens.ts';
import { UserError } from '../../src/util/errors.ts';
import { loadModel } from '../../src/models/model-kinds.ts';
import { Rng } from '../../src/util/rng.ts';

const VOCAB = 64;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'clearbench-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A tiny VLM whose weights are perturbed well away from the small init, so logits are far from zero. */
function model(vocab = VOCAB): { cfg: VLMConfig; store: ParamStore } {
  const cfg = preset('tiny', vocab);
  const store = new ParamStore();
  initVLM(store, cfg, 7);
  const rng = new Rng(8);
  for (const e of store.entries()) for (let i = 0; i < e.data.length; i++) e.data[i] += 0.3 * rng.normal();
  return { cfg, store };
}

/** Prompts of different lengths, left-padded to `seq`, with or without an image. */
function batchFeeds(cfg: VLMConfig, B: number, seq: number, image: boolean): Feeds {
  const V = cfg.lm.vocabSize;
  const rng = new Rng(9);
  const nImg = (cfg.vision.imageSize / cfg.vision.patch) ** 2;
  const size = 3 * cfg.vision.imageSize ** 2;
  const samples: EncodedSample[] = Array.from({ length: B }, (_, b) => {
    const text = Array.from({ length: 5 + 3 * b }, () => 5 + rng.int(V - 5));
    const ids = [SPECIAL_IDS.user, ...(image ? new Array(nImg).fill(SPECIAL_IDS.image) : []), ...text, SPECIAL_IDS.assistant];
    return { ids, labels: ids.map(() => -100), image: image ? Float32Array.from({ length: size }, () => rng.normal()) : null, imageAt: image ? 1 : -1 };
  });
  return makeBatch(cfg, samples, { padSide: 'left', padTo: seq }).feeds;
}

async function harnessLogits(cfg: VLMConfig, store: ParamStore, B: number, seq: number, image: boolean, feeds: Feeds): Promise<Float32Array> {
  const g = new Graph();
  const { logits } = vlmForward(g, bindParams(g, store), cfg, declareInputs(g, cfg, { B, S: seq, image, keyMask: true }));
  const cg = await CompiledGraph.compile(g, { logits }, { threads: 1 });
  const out = (await cg.run({ ...store.feeds(), ...feeds })).logits.data as Float32Array;
  await cg.release();
  return out;
}

/** Equal up to float rounding, on logits that are not all near zero. */
function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let worst = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  expect(scale).toBeGreaterThan(1);
  expect(worst).toBeLessThan(1e-5 * scale);
}

function ortFeeds(feeds: Feeds, inputs: { name: string; shape: number[]; dtype: string }[]): Record<string, ort.Tensor> {
  return Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor(i.dtype as 'float32', feeds[i.name] as Float32Array, i.shape)]));
}

describe('ONNX export', () => {
  test('serialize embeds exactly the given parameters as initializers; the others stay inputs', async () => {
    // y = x·W + b with W embedded and b still fed: [[1, 2]]·[[1, 2], [3, 4]] + [10, 20] = [[17, 30]].
    const g = new Graph();
    const x = g.input('x', [1, 2]);
    const w = g.param('w', [2, 2]);
    const b = g.param('b', [2]);
    const model = serialize(g, { y: x.linear(w, b) }, { embed: { w: Float32Array.from([1, 2, 3, 4]) }, metadata: { note: 'hi' } });
    expect(model.inputs.map((t) => t.name)).toEqual(['x', 'b']);
    const proto = onnxProto.onnx.ModelProto.decode(model.bytes);
    expect(proto.graph!.initializer!.map((i) => i.name)).toContain('w');
    expect(proto.metadataProps).toEqual([expect.objectContaining({ key: 'note', value: 'hi' })]);
    const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 });
    const y = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2]), b: new ort.Tensor('float32', Float32Array.from([10, 20]), [2]) });
    expect([...(y.y.data as Float32Array)]).toEqual([17, 30]);
    await session.release();
    expect(() => serialize(g, { y: x.linear(w, b) }, { embed: { w: new Float32Array(3) } })).toThrow('3 values for shape [2,2]');
    expect(() => serialize(g, { y: x.linear(w, b) }, { embed: { w: new Float64Array(4) } })).toThrow('values are not float32');
  });

  for (const image of [true, false]) {
    test(`the exported ${image ? 'image' : 'text-only'} model runs standalone in onnxruntime and matches the harness forward`, async () => {
      const { cfg, store } = model();
      const B = 3, seq = image ? 40 : 24;
      const dir = mkdtempSync(join(scratch, 'case-'));
      const path = join(dir, 'model.onnx');
      const info = exportModel(new VlmModel(store, cfg, null as never), path, { batch: B, seq, image });
      const expectedInputs = image ? ['ids', 'positions', 'images', 'image_index', 'image_slot', 'key_mask'] : ['ids', 'positions', 'key_mask'];
      expect(info.inputs.map((i) => i.name)).toEqual(expectedInputs);
      expect(info.outputs).toEqual([{ name: 'logits', shape: [B, seq, VOCAB], dtype: 'float32' }]);

      // The file itself: only data inputs, every used weight an initializer, the config in the metadata.
      const proto = onnxProto.onnx.ModelProto.decode(readFileSync(path));
      expect(proto.graph!.input!.map((i) => i.name)).toEqual(expectedInputs);
      const inits = new Set(proto.graph!.initializer!.map((i) => i.name));
      const used = store.names().filter((n) => inits.has(n));
      expect(used.length).toBe(image ? store.names().length : store.names().filter((n) => n.startsWith('lm.')).length);
      expect(info.params).toBe(used.reduce((n, name) => n + store.get(name).data.length, 0));
      const meta = Object.fromEntries(proto.metadataProps!.map((m) => [m.key, m.value]));
      expect(JSON.parse(meta['clearbench.model_config']!)).toEqual(cfg);

      const feeds = batchFeeds(cfg, B, seq, image);
      const want = await harnessLogits(cfg, store, B, seq, image, feeds);
      // Change the store afterwards: the file must not depend on it.
      for (const e of store.entries()) e.data.fill(0);
      const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
      expect([...session.inputNames]).toEqual(expectedInputs);
      const got = (await session.run(ortFeeds(feeds, info.inputs))).logits.data as Float32Array;
      await session.release();
      expect(got.length).toBe(B * seq * VOCAB);
      expectClose(got, want);
      expect(readdirSync(dir)).toEqual(['model.onnx']);
    });
  }

  test('bad shapes are refused with a clear message and leave an existing file untouched', () => {
    const { cfg, store } = model();
    const dir = mkdtempSync(join(scratch, 'case-'));
    const path = join(dir, 'model.onnx');
    writeFileSync(path, 'previous');
    expect(() => exportModel(new VlmModel(store, cfg, null as never), path, { batch: 1, seq: cfg.lm.maxSeq + 1, image: true })).toThrow(UserError);
    expect(() => exportModel(new VlmModel(store, cfg, null as never), path, { batch: 1, seq: cfg.lm.maxSeq + 1, image: true })).toThrow(`pass --seq ${cfg.lm.maxSeq} or less`);
    expect(() => exportModel(new VlmModel(store, cfg, null as never), path, { batch: 0, seq: 8, image: false })).toThrow('batch size must be a positive integer');
    expect(readFileSync(path, 'utf8')).toBe('previous');
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });
});

describe('clearbench export', () => {
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clearbench.js'), 'export', ...args], { encoding: 'utf8', cwd: scratch });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  test('exports a saved checkpoint to a file that matches the harness forward of the loaded weights', async () => {
    const tok = Tokenizer.fromJSON(trainBpe(['a small corpus for a small tokenizer'], { vocabSize: 280, minFrequency: 1 }));
    const { cfg, store } = model(tok.vocabSize);
    const dir = join(scratch, 'ckpt');
    saveCheckpoint(dir, { store, config: cfg, tokenizer: tok, preset: 'tiny' });
    const out = join(scratch, 'out', 'tiny.onnx');
    const r = cli('--model', dir, '--out', out, '--batch', '2', '--seq', '40');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stdout).toContain(`logits float32[2, 40, ${tok.vocabSize}]`);

    const loaded = loadCheckpoint(dir);
    const feeds = batchFeeds(cfg, 2, 40, true);
    const want = await harnessLogits(cfg, loaded.store, 2, 40, true, feeds);
    const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
    const inputs = [...session.inputNames].map((name) => ({ name, ...shapeOf(name, cfg, 2, 40) }));
    const got = (await session.run(ortFeeds(feeds, inputs))).logits.data as Float32Array;
    await session.release();
    expectClose(got, want);

    // --no-image: a text-only model of the maxSeq length by default.
    const text = join(scratch, 'out', 'text.onnx');
    expect(cli('--model', dir, '--out', text, '--no-image').code).toBe(0);
    const proto = onnxProto.onnx.ModelProto.decode(readFileSync(text));
    expect(proto.graph!.input!.map((i) => [i.name, i.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))])).toEqual([
      ['ids', [1, cfg.lm.maxSeq]], ['positions', [1, cfg.lm.maxSeq]], ['key_mask', [1, cfg.lm.maxSeq]],
    ]);
  });

  test('a LLaVA checkpoint exports Hugging Face\'s inputs (input_ids, attention_mask, pixel_values) and matches the harness forward on left-padded image prompts', async () => {
    const dir = join(ROOT, 'test', 'fixtures', 'hf', 'llava-legacy-f32');
    const model = loadModel(dir);
    const image = Float32Array.from({ length: 3 * 28 * 28 }, (_, i) => Math.sin(i / 7));
    const prompts = ['Who is this?', 'Describe the picture in a few words.'].map((question, k) => model.encode({ question, image: image.map((x) => x * (k + 1)) }));
    const batch = model.batch(prompts, { padSide: 'left' });
    const { B, S } = batch.shape;
    const out = join(scratch, 'out', 'llava.onnx');
    const r = cli('--model', dir, '--out', out, '--batch', String(B), '--seq', String(S));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`logits float32[${B}, ${S}, ${model.dims.vocabSize}]`);

    const g = new Graph();
    const { logits } = model.forward(g, bindParams(g, model.params), model.declareInputs(g, batch.shape));
    const cg = await CompiledGraph.compile(g, { logits }, { threads: 1 });
    const want = (await cg.run({ ...model.params.feeds(), ...batch.feeds })).logits.data as Float32Array;
    await cg.release();
    const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
    expect([...session.inputNames]).toEqual(['input_ids', 'attention_mask', 'pixel_values']);
    const mask = BigInt64Array.from(batch.feeds.key_mask as Float32Array, (m) => BigInt(m));
    const got = (await session.run({
      input_ids: new ort.Tensor('int64', batch.feeds.ids as BigInt64Array, [B, S]),
      attention_mask: new ort.Tensor('int64', mask, [B, S]),
      pixel_values: new ort.Tensor('float32', batch.feeds.images as Float32Array, [B, 3, 28, 28]),
    })).logits.data as Float32Array;
    await session.release();
    expectClose(got, want);

    const text = join(scratch, 'out', 'llava-text.onnx');
    expect(cli('--model', dir, '--out', text, '--no-image', '--seq', '16').code).toBe(0);
    const proto = onnxProto.onnx.ModelProto.decode(readFileSync(text));
    expect(proto.graph!.input!.map((i) => i.name)).toEqual(['input_ids', 'attention_mask']);
  });

  test('a missing checkpoint, a bad shape or an unwritable path ends in one line naming the fix and a non-zero exit', () => {
    const missing = cli('--model', join(scratch, 'nope'), '--out', join(scratch, 'x.onnx'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('does not exist');
    const tok = Tokenizer.fromJSON(trainBpe(['tiny'], { vocabSize: 270, minFrequency: 1 }));
    const { cfg, store } = model(tok.vocabSize);
    const dir = join(scratch, 'ckpt2');
    saveCheckpoint(dir, { store, config: cfg, tokenizer: tok });
    const tooLong = cli('--model', dir, '--out', join(scratch, 'y.onnx'), '--seq', String(cfg.lm.maxSeq + 1));
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.stderr).toBe(`clearbench: export sequence length ${cfg.lm.maxSeq + 1} exceeds the model's ${cfg.lm.maxSeq} positions; pass --seq ${cfg.lm.maxSeq} or less\n`);
    expect(readdirSync(scratch)).not.toContain('y.onnx');
    // The output's parent is a file: a write error becomes one line naming the path.
    writeFileSync(join(scratch, 'plain-file'), '');
    const unwritable = cli('--model', dir, '--out', join(scratch, 'plain-file', 'z.onnx'));
    expect(unwritable.code).not.toBe(0);
    expect(unwritable.stderr).toMatch(/^clearbench: cannot write .*z\.onnx \(E[A-Z]+\); choose a writable --out path\n$/);
  });
});

function shapeOf(name: string, cfg: VLMConfig, B: number, S: number): { shape: number[]; dtype: string } {
  const n = cfg.vision.imageSize;
  const table: Record<string, { shape: number[]; dtype: string }> = {
    ids: { shape: [B, S], dtype: 'int64' },
    positions: { shape: [B, S], dtype: 'int64' },
    key_mask: { shape: [B, S], dtype: 'float32' },
    images: { shape: [B, 3, n, n], dtype: 'float32' },
    image_index: { shape: [B, S], dtype: 'int64' },
    image_slot: { shape: [B, S, 1], dtype: 'float32' },
  };
  return table[name];
}
