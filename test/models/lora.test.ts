/** LoRA adapters on the tiny VLM: selection, PEFT initialisation, frozen base, merging, checkpoints. */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Graph } from '../../src/engine/graph.ts';
import { ParamStore, bindParams, type ParamLookup } from '../../src/engine/params.ts';
import { Trainer } from '../../src/engine/step.ts';
import { tokenCE } from '../../src/engine/losses.ts';
import { ForwardRunner } from '../../src/models/runner.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { type VLMConfig, declareInputs, initVLM, preset, vlmForward } from '../../src/models/vlm.ts';
import { encodeSample, makeBatch } from '../../src/models/batch.ts';
import { type ModelBatch } from '../../src/models/model.ts';
import { addLora, hasLora, isLoraParam, linearPrefixes, loraDelta, loraDeltaExpr, loraPrefixes, matchTargets, mergeLora, targetPattern } from '../../src/models/lora.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

const CAPTIONS = ['Mira Solen smiles in front of a blue wall.', 'Tarin Okafor wears a red hat near the sea.'];
const TARGETS = ['lm.blocks.*.attn.qkv', 'lm.blocks.*.mlp.*', 'projector.fc2'];

let tok: Tokenizer;
let cfg: VLMConfig;
let base: ParamStore;
let batch: ModelBatch;

beforeAll(() => {
  tok = Tokenizer.fromJSON(trainBpe([...CAPTIONS, 'Describe the image.'], { vocabSize: 300, minFrequency: 1 }));
  cfg = preset('tiny', tok.vocabSize);
  base = new ParamStore();
  initVLM(base, cfg, 1);
  const rng = new Rng(5);
  const size = 3 * cfg.vision.imageSize ** 2;
  const samples = CAPTIONS.map((answer) => ({ question: 'Describe the image.', answer, image: Float32Array.from({ length: size }, () => rng.normal()) }));
  batch = makeBatch(cfg, samples.map((s) => encodeSample(tok, cfg, s)), { padSide: 'right' });
});

async function logitsOf(store: ParamStore): Promise<Float32Array> {
  const runner = new ForwardRunner(store, 1);
  const out = await runner.run('b', (g: Graph) => ({ logits: vlmForward(g, bindParams(g, store), cfg, declareInputs(g, cfg, batch.shape)).logits }), batch.feeds);
  await runner.release();
  return (out.logits.data as Float32Array).slice();
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const bytesOf = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('target patterns', () => {
  test('* stays within one name part, ** crosses parts, the rest is literal', () => {
    expect(targetPattern('lm.blocks.*.attn.qkv').test('lm.blocks.12.attn.qkv')).toBe(true);
    expect(targetPattern('lm.blocks.*.attn.qkv').test('lm.blocks.1.2.attn.qkv')).toBe(false);
    expect(targetPattern('lm.*').test('lm.blocks.0.attn.qkv')).toBe(false);
    expect(targetPattern('lm.**').test('lm.blocks.0.attn.qkv')).toBe(true);
    expect(targetPattern('**.fc1').test('vision.blocks.0.mlp.fc1')).toBe(true);
    expect(targetPattern('**.fc1').test('vision.blocks.0.mlp.fc10')).toBe(false);
    expect(targetPattern('lm.blocks.0.attn.qkv').test('lmXblocks.0.attn.qkv')).toBe(false); // dots are literal
    expect(targetPattern('lm.blocks.0.attn.qkv').test('lm.blocks.0.attn.qkv.extra')).toBe(false); // whole prefix
    expect(targetPattern('a+b(c)').test('a+b(c)')).toBe(true);
  });

  test('select linear layers in store order; the LM head and embeddings are not linear layers', () => {
    expect(matchTargets(base, ['lm.blocks.*.mlp.*'])).toEqual(['lm.blocks.0.mlp.fc1', 'lm.blocks.0.mlp.fc2', 'lm.blocks.1.mlp.fc1', 'lm.blocks.1.mlp.fc2']);
    expect(matchTargets(base, ['**.fc1', 'lm.blocks.1.mlp.fc1'])).toEqual(['vision.blocks.0.mlp.fc1', 'projector.fc1', 'lm.blocks.0.mlp.fc1', 'lm.blocks.1.mlp.fc1']);
    const all = linearPrefixes(base);
    expect(all).not.toContain('lm.head');
    expect(all.some((p) => p.includes('emb') && !p.includes('patch_embed'))).toBe(false);
    expect(all).toHaveLength(1 + 4 + 2 + 2 * 4); // patch embed, one ViT block, projector, two LM blocks
  });

  test('every linear layer is one that linear() gives an adapter to, and no other', async () => {
    // Record the adapter look-ups linear() makes while the full image+text forward graph is built.
    const asked = new Set<string>();
    const build = (g: Graph) => {
      const inner = bindParams(g, base);
      const P: ParamLookup = Object.assign((name: string) => inner(name), {
        has: (name: string) => {
          if (name.endsWith('.lora_A')) asked.add(name.slice(0, -'.lora_A'.length));
          return inner.has(name);
        },
      });
      return { logits: vlmForward(g, P, cfg, declareInputs(g, cfg, batch.shape)).logits };
    };
    const runner = new ForwardRunner(base, 1);
    await runner.run('b', build, batch.feeds);
    await runner.release();
    expect([...asked].sort()).toEqual(linearPrefixes(base).sort());
  });

  test('a pattern that matches nothing is an error naming it', () => {
    expect(() => matchTargets(base, ['lm.blocks.*.attn.qkv', 'lm.blocks.*.attn.query'])).toThrow(UserError);
    expect(() => matchTargets(base, ['lm.blocks.*.attn.query'])).toThrow(/LoRA target 'lm\.blocks\.\*\.attn\.query' matches no linear layer; layers look like vision\.patch_embed/);
    expect(() => matchTargets(base, ['lm.head'])).toThrow(/'lm\.head' matches no linear layer/);
    expect(() => matchTargets(base, ['lm.blocks.0.attn.qkv.weight'])).toThrow(/patterns name layers, without "\.weight"/);
  });
});

describe('addLora', () => {
  test('adds A [in, r] (PEFT kaiming-uniform), B [r, out] zeros and a frozen scale alpha/r; freezes the rest', () => {
    const s = base.clone();
    const layers = addLora(s, { rank: 4, alpha: 6, targets: TARGETS }, 7);
    expect(layers).toEqual(['projector.fc2', 'lm.blocks.0.attn.qkv', 'lm.blocks.0.mlp.fc1', 'lm.blocks.0.mlp.fc2', 'lm.blocks.1.attn.qkv', 'lm.blocks.1.mlp.fc1', 'lm.blocks.1.mlp.fc2']);
    expect(loraPrefixes(s)).toEqual(layers);
    expect(hasLora(s)).toBe(true);
    expect(hasLora(base)).toBe(false);
    for (const e of s.entries()) {
      const isAB = e.name.endsWith('.lora_A') || e.name.endsWith('.lora_B');
      expect([e.name, e.trainable]).toEqual([e.name, isAB]);
    }
    expect(s.count(true)).toBe(layers.reduce((n, p) => n + 4 * base.get(`${p}.weight`).shape.reduce((a, b) => a + b), 0));
    for (const p of layers) {
      const [din, dout] = base.get(`${p}.weight`).shape;
      expect(s.get(`${p}.lora_A`).shape).toEqual([din, 4]);
      expect(s.get(`${p}.lora_B`).shape).toEqual([4, dout]);
      expect(s.get(`${p}.lora_B`).data.every((x) => x === 0)).toBe(true);
      expect(s.get(`${p}.lora_scale`).shape).toEqual([]);
      expect(s.get(`${p}.lora_scale`).data[0]).toBe(1.5);
      // torch.nn.init.kaiming_uniform_(w, a=√5) on w [r, in]: fan_in = in, gain = √(2/(1+5)),
      // std = gain/√fan_in, bound = √3·std (torch/nn/init.py); here 1/√in, not 1/√r.
      const bound = Math.sqrt(3) * (Math.sqrt(2 / (1 + 5)) / Math.sqrt(din));
      const a = s.get(`${p}.lora_A`).data;
      let max = 0;
      let sq = 0;
      for (const x of a) {
        max = Math.max(max, Math.abs(x));
        sq += x * x;
      }
      expect(max).toBeLessThanOrEqual(bound);
      expect(max).toBeGreaterThan(0.9 * bound);
      // Uniform(−b, b) has variance b²/3; ≥ 192 draws per layer put the sample within ±30 %.
      expect(sq / a.length / (bound * bound / 3)).toBeGreaterThan(0.7);
      expect(sq / a.length / (bound * bound / 3)).toBeLessThan(1.3);
    }
  });

  test('is deterministic per seed and per layer', () => {
    const a = base.clone();
    const b = base.clone();
    const c = base.clone();
    const d = base.clone();
    addLora(a, { rank: 2, alpha: 4, targets: TARGETS }, 11);
    addLora(b, { rank: 2, alpha: 4, targets: TARGETS }, 11);
    addLora(c, { rank: 2, alpha: 4, targets: TARGETS }, 12);
    addLora(d, { rank: 2, alpha: 4, targets: ['lm.blocks.1.attn.qkv'] }, 11);
    const name = 'lm.blocks.1.attn.qkv.lora_A';
    expect(bytesOf(a.get(name).data).equals(bytesOf(b.get(name).data))).toBe(true);
    expect(bytesOf(a.get(name).data).equals(bytesOf(c.get(name).data))).toBe(false);
    // A layer's adapter does not depend on which other layers were chosen.
    expect(bytesOf(a.get(name).data).equals(bytesOf(d.get(name).data))).toBe(true);
    expect(bytesOf(a.get(name).data).equals(bytesOf(a.get('lm.blocks.0.attn.qkv.lora_A').data))).toBe(false);
  });

  test('rejects bad settings with one line each', () => {
    expect(() => addLora(base.clone(), { rank: 0, alpha: 1, targets: TARGETS }, 1)).toThrow(/LoRA rank must be a positive integer, got 0/);
    expect(() => addLora(base.clone(), { rank: 2.5, alpha: 1, targets: TARGETS }, 1)).toThrow(UserError);
    expect(() => addLora(base.clone(), { rank: 2, alpha: -1, targets: TARGETS }, 1)).toThrow(/alpha must be a positive number/);
    expect(() => addLora(base.clone(), { rank: 2, alpha: 1, targets: [] }, 1)).toThrow(/at least one target pattern/);
    const s = base.clone();
    addLora(s, { rank: 2, alpha: 1, targets: TARGETS }, 1);
    expect(() => addLora(s, { rank: 2, alpha: 1, targets: TARGETS }, 1)).toThrow(/already has LoRA adapters/);
  });

  test('a fresh adapter (B = 0) leaves the logits unchanged', async () => {
    const s = base.clone();
    addLora(s, { rank: 4, alpha: 8, targets: ['**'] }, 3);
    expect(bytesOf(await logitsOf(s)).equals(bytesOf(await logitsOf(base)))).toBe(true);
  });
});

describe('merging', () => {
  test('ΔW = scale·A·B by hand, accumulated in float64', () => {
    const s = new ParamStore();
    s.add('x.weight', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
    s.add('x.bias', [3]);
    addLora(s, { rank: 1, alpha: 2, targets: ['x'] }, 0);
    s.get('x.lora_A').data.set([1, 2]);
    s.get('x.lora_B').data.set([0.5, -1, 0.25]);
    // 2 · [1; 2]·[0.5 −1 0.25] = [[1 −2 0.5]; [2 −4 1]].
    expect([...loraDelta(s, 'x')]).toEqual([1, -2, 0.5, 2, -4, 1]);
    const m = mergeLora(s);
    expect(m.names()).toEqual(['x.weight', 'x.bias']);
    expect([...m.get('x.weight').data]).toEqual([2, 0, 3.5, 6, 1, 7]);
    expect(m.entries().every((e) => e.trainable)).toBe(true);
    expect(hasLora(s)).toBe(true); // the input store keeps its adapters

    // Σ_k A·B = 2²⁴ + 1 − 2²⁴: float32 accumulation loses the 1 (2²⁴ + 1 rounds to 2²⁴), float64 keeps it.
    const t = new ParamStore();
    t.add('y.weight', [1, 1], Float32Array.of(0.5));
    t.add('y.bias', [1]);
    addLora(t, { rank: 3, alpha: 3, targets: ['y'] }, 0);
    t.get('y.lora_A').data.set([1, 1, 1]);
    t.get('y.lora_B').data.set([2 ** 24, 1, -(2 ** 24)]);
    expect(mergeLora(t).get('y.weight').data[0]).toBe(1.5);
  });

  describe('after training the adapters', () => {
    let adapted: ParamStore;
    let frozenBefore: Map<string, Buffer>;
    let adaptersBefore: Map<string, Buffer>;
    let losses: number[];
    beforeAll(async () => {
      adapted = base.clone();
      addLora(adapted, { rank: 4, alpha: 8, targets: TARGETS }, 9);
      frozenBefore = new Map(adapted.entries().filter((e) => !isLoraParam(e.name)).map((e) => [e.name, Buffer.from(bytesOf(e.data))]));
      adaptersBefore = new Map(adapted.entries().filter((e) => isLoraParam(e.name)).map((e) => [e.name, Buffer.from(bytesOf(e.data))]));
      const build = (g: Graph) => {
        const x = declareInputs(g, cfg, batch.shape);
        const targets = g.input('targets', [batch.shape.B, batch.shape.S], 'int64');
        return { loss: tokenCE(vlmForward(g, bindParams(g, adapted), cfg, x).logits, targets) };
      };
      const trainer = await Trainer.create(adapted, { optimizer: { type: 'adamw', lr: 1e-2 }, threads: 1 });
      losses = [];
      for (let i = 0; i < 6; i++) losses.push((await trainer.run('b', build, { ...batch.feeds, targets: batch.targets })).loss);
      for (const c of await trainer.sessions()) await c.release();
    });

    test('training leaves every frozen weight bit-identical while the adapters change', () => {
      expect(losses[5]).toBeLessThan(losses[0]);
      for (const [name, bytes] of frozenBefore) expect([name, bytesOf(adapted.get(name).data).equals(bytes)]).toEqual([name, true]);
      for (const p of loraPrefixes(adapted)) {
        expect(bytesOf(adapted.get(`${p}.lora_A`).data).equals(adaptersBefore.get(`${p}.lora_A`)!)).toBe(false);
        expect(bytesOf(adapted.get(`${p}.lora_B`).data).equals(adaptersBefore.get(`${p}.lora_B`)!)).toBe(false);
        expect(bytesOf(adapted.get(`${p}.lora_scale`).data).equals(adaptersBefore.get(`${p}.lora_scale`)!)).toBe(true);
      }
    });

    test('the merged model reproduces the adapted model\'s logits (max |Δ| < 1e-5)', async () => {
      const withAdapters = await logitsOf(adapted);
      const merged = mergeLora(adapted);
      expect(merged.names()).toEqual(base.names());
      const mergedLogits = await logitsOf(merged);
      // The adapters moved the logits far more than the tolerance, so a merge that dropped ΔW would fail.
      expect(maxAbsDiff(withAdapters, await logitsOf(base))).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(withAdapters, mergedLogits)).toBeLessThan(1e-5);
      for (const e of merged.entries()) {
        const changed = loraPrefixes(adapted).some((p) => e.name === `${p}.weight`);
        expect([e.name, bytesOf(e.data).equals(bytesOf(adapted.get(e.name).data))]).toEqual([e.name, !changed]);
      }
    });

    test('loraDeltaExpr in a graph equals loraDelta, and gives an L1 penalty', async () => {
      const prefix = 'lm.blocks.1.mlp.fc1';
      const runner = new ForwardRunner(adapted, 1);
      const out = await runner.run('d', (g: Graph) => {
        const d = loraDeltaExpr(bindParams(g, adapted), prefix);
        return { delta: d, l1: d.abs().sum() };
      }, {});
      await runner.release();
      const want = loraDelta(adapted, prefix);
      const got = out.delta.data as Float32Array;
      expect(out.delta.dims).toEqual(adapted.get(`${prefix}.weight`).shape);
      let scale = 0;
      let l1 = 0;
      for (const x of want) {
        scale = Math.max(scale, Math.abs(x));
        l1 += Math.abs(x);
      }
      expect(scale).toBeGreaterThan(0);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6 * scale);
      expect(Math.abs(Number(out.l1.data[0]) - l1)).toBeLessThan(1e-5 * l1);
    });

    test('a saved checkpoint holds the merged weights and no adapters, and round-trips', async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'clearbench-lora-')), 'ck');
      saveCheckpoint(dir, { store: adapted, config: cfg, tokenizer: tok, preset: 'tiny' });
      expect(hasLora(adapted)).toBe(true); // saving does not strip the live model's adapters
      const loaded = loadCheckpoint(dir).store;
      expect(loaded.names()).toEqual(base.names());
      const merged = mergeLora(adapted);
      for (const e of merged.entries()) expect([e.name, bytesOf(loaded.get(e.name).data).equals(bytesOf(e.data))]).toEqual([e.name, true]);
      expect(maxAbsDiff(await logitsOf(loaded), await logitsOf(adapted))).toBeLessThan(1e-5);
    });
  });
});
