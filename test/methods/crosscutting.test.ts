/**
 * Options every method shares (docs/SPEC.md §6): LoRA trains only the adapters, the vision encoder stays frozen by
 * default, the L1 regulariser λ·‖ΔW‖₁ logs and adds the right quantity (full fine-tuning and LoRA), and the
 * modality selects the forget/retain examples (docs/SPEC.md §1).
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ga from '../../methods/ga.ts';
import gd from '../../methods/gd.ts';
import { type ParamStore } from '../../src/engine/params.ts';
import { addLora } from '../../src/models/lora.ts';
import { unlearn, type UnlearnOptions, type UnlearnStepLog } from '../../src/methods/unlearn.ts';
import { unlearningData } from '../../src/methods/data.ts';
import { type AnyMethod } from '../../src/methods/api.ts';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../src/data/dataset.ts';
import { FACE_PROMPT } from '../../src/models/chat.ts';
import { type TinyTarget, tinyTarget } from '../helpers/tiny-target.ts';

const OPT = { optimizer: { type: 'adamw' as const, lr: 1e-3 }, threads: 1 };

function options(t: TinyTarget, method: AnyMethod, extra: Partial<UnlearnOptions> = {}): UnlearnOptions {
  return { method, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 1, batchSize: 4, seed: 0, optimizer: OPT, ...extra };
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const changedNames = (now: ParamStore, before: ParamStore) => now.names().filter((n) => !before.has(n) || !same(now.get(n).data, before.get(n).data)).sort();

/** Σ|scale·A·B| over every adapted layer, in float64 (A [in, r], B [r, out]). */
function loraL1(store: ParamStore): number {
  let total = 0;
  for (const nameA of store.names().filter((n) => n.endsWith('.lora_A'))) {
    const prefix = nameA.slice(0, -'.lora_A'.length);
    const A = store.get(nameA), B = store.get(`${prefix}.lora_B`);
    const scale = store.get(`${prefix}.lora_scale`).data[0];
    const [din, r] = A.shape, dout = B.shape[1];
    for (let i = 0; i < din; i++) {
      for (let j = 0; j < dout; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += A.data[i * r + k] * B.data[k * dout + j];
        total += Math.abs(scale * s);
      }
    }
  }
  return total;
}

/** Σ|θ − θ_start| over the trained parameters, in float64. */
function fullL1(store: ParamStore, start: ParamStore): number {
  let total = 0;
  for (const e of store.entries()) {
    if (!e.trainable) continue;
    const s = start.get(e.name).data;
    for (let i = 0; i < e.data.length; i++) total += Math.abs(e.data[i] - s[i]);
  }
  return total;
}

/**
 * Runs unlearning and pairs each step's logged l1 with the value computed independently from the parameters
 * that step saw (those after the previous step; the start for step 1).
 */
async function l1Pairs(t: TinyTarget, method: AnyMethod, l1Lambda: number, independent: () => number, epochs = 1) {
  const pairs: { logged: number; expected: number; log: UnlearnStepLog }[] = [];
  let expected = independent();
  await unlearn(options(t, method, { l1Lambda, epochs, onStep: (log) => {
    pairs.push({ logged: log.metrics.l1, expected, log });
    expected = independent();
  } }));
  return pairs;
}

describe('frozen modules and LoRA', () => {
  test('the vision encoder stays frozen by default (bit for bit); unfrozen, it trains', async () => {
    const t = await tinyTarget();
    const start = t.store.clone();
    const summary = await unlearn(options(t, ga));
    const changed = changedNames(t.store, start);
    expect(changed.filter((n) => n.startsWith('vision.'))).toEqual([]);
    expect(summary.trained.filter((n) => n.startsWith('vision.'))).toEqual([]);
    expect(changed).toContain('projector.fc1.weight');
    expect(changed).toContain('lm.head.weight');
    // The images do reach the loss: with nothing frozen, the encoder moves.
    const open = await tinyTarget();
    const before = open.store.clone();
    await unlearn(options(open, ga, { frozen: [] }));
    expect(changedNames(open.store, before)).toContain('vision.patch_embed.weight');
  });

  test('with LoRA only the adapters train; every base weight and the scales stay bit for bit', async () => {
    const t = await tinyTarget();
    const prefixes = addLora(t.store, { rank: 2, alpha: 4, targets: ['lm.blocks.*.attn.qkv', 'lm.blocks.*.mlp.*'] }, 3);
    const start = t.store.clone();
    const summary = await unlearn(options(t, ga));
    const adapters = prefixes.flatMap((p) => [`${p}.lora_A`, `${p}.lora_B`]).sort();
    expect(summary.trained.slice().sort()).toEqual(adapters);
    expect(changedNames(t.store, start)).toEqual(adapters);
  });
});

describe('the L1 regulariser λ·‖ΔW‖₁', () => {
  test('full fine-tuning: logged l1 = Σ|θ − θ_start| over the trained weights; the loss adds λ·l1; it holds ΔW back', async () => {
    const t = await tinyTarget();
    const start = t.store.clone();
    const lambda = 0.01;
    const pairs = await l1Pairs(t, gd, lambda, () => fullL1(t.store, start));
    expect(pairs.length).toBeGreaterThan(3);
    expect(pairs[0].logged).toBe(0);
    for (const p of pairs.slice(1)) {
      expect(p.expected).toBeGreaterThan(0);
      expect(Math.abs(p.logged - p.expected) / p.expected).toBeLessThan(1e-5);
      const m = p.log.metrics;
      expect(p.log.loss).toBeCloseTo(-m.ce_forget + m.retain + lambda * m.l1, 4);
    }
    // Without the penalty the weights end further from the start.
    const free = await tinyTarget();
    const freeStart = free.store.clone();
    await unlearn(options(free, gd));
    const trainedOnly = (s: ParamStore, from: ParamStore) => {
      let x = 0;
      for (const n of s.names()) if (!n.startsWith('vision.')) for (let i = 0; i < s.get(n).data.length; i++) x += Math.abs(s.get(n).data[i] - from.get(n).data[i]);
      return x;
    };
    const [penalised, unpenalised] = [trainedOnly(t.store, start), trainedOnly(free.store, freeStart)];
    console.log(`l1: ‖ΔW‖₁ after 1 epoch of gd: ${penalised.toFixed(2)} with λ = ${lambda}, ${unpenalised.toFixed(2)} without`);
    expect(penalised).toBeLessThan(unpenalised);
  });

  test('LoRA: logged l1 = Σ|scale·A·B| (ΔW of the adapters, not the factors)', async () => {
    const t = await tinyTarget();
    addLora(t.store, { rank: 2, alpha: 4, targets: ['lm.blocks.*.attn.qkv', 'lm.blocks.*.mlp.*'] }, 3);
    const pairs = await l1Pairs(t, ga, 0.05, () => loraL1(t.store));
    expect(pairs[0].logged).toBe(0); // B starts at 0
    for (const p of pairs.slice(1)) {
      expect(p.expected).toBeGreaterThan(0);
      expect(Math.abs(p.logged - p.expected) / p.expected).toBeLessThan(1e-5);
    }
  });
});

describe('modality selects the unlearning data (docs/SPEC.md §1)', () => {
  test('vision = the persons\' image captions (face names where asked), text = their QA, joint = both; forget and retain persons are disjoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clearbench-modality-'));
    try {
      await generateSynthetic({ outDir: dir, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
      const clear = await openClear(dir);
      const tofu = await openTofu(join(dir, 'tofu'));
      const rows = async (ds: typeof clear | typeof tofu, config: string) => (await ds.loadConfig(config)) as unknown as Record<string, unknown>[];
      const [cf, cr, tf, tr] = [await rows(clear, 'forget10'), await rows(clear, 'retain90'), await rows(tofu, 'forget10'), await rows(tofu, 'retain90')];

      const vision = await unlearningData(clear, tofu, 'forget10', 'vision');
      const text = await unlearningData(clear, tofu, 'forget10', 'text');
      const joint = await unlearningData(clear, tofu, 'forget10', 'joint');
      const key = (e: { question: string; answer: string; image: unknown }) => `${e.image ? 'img' : 'txt'}|${e.question}|${e.answer}`;

      const withNames = await unlearningData(clear, tofu, 'forget10', 'vision', { faceNames: true });
      for (const [set, named, caption, qa] of [[vision.forget, withNames.forget, cf, tf], [vision.retain, withNames.retain, cr, tr]] as const) {
        expect(set.every((e) => e.image !== null)).toBe(true);
        // One caption example per image row; face → name examples (the FaceRec task's prompt) only when asked.
        expect(set.map(key).sort()).toEqual(caption.map((r) => `img|caption|${r.caption}`).sort());
        expect(named.map(key).sort()).toEqual(caption.flatMap((r) => [`img|caption|${r.caption}`, `img|${FACE_PROMPT}|${r.name}`]).sort());
        expect(qa.length).toBeGreaterThan(0);
      }
      for (const [set, qa] of [[text.forget, tf], [text.retain, tr]] as const) {
        expect(set.every((e) => e.image === null)).toBe(true);
        expect(set.map(key).sort()).toEqual(qa.map((r) => `txt|${r.question}|${r.answer}`).sort());
      }
      expect(joint.forget.map(key).sort()).toEqual([...vision.forget, ...text.forget].map(key).sort());
      expect(joint.retain.map(key).sort()).toEqual([...vision.retain, ...text.retain].map(key).sort());

      const forgetPersons = new Set(cf.map((r) => r.name));
      const retainPersons = new Set(cr.map((r) => r.name));
      expect(forgetPersons.size).toBeGreaterThan(0);
      expect([...forgetPersons].filter((p) => retainPersons.has(p))).toEqual([]);
      // The text QA of the forget split is about the forget persons only.
      expect(tf.every((r) => [...forgetPersons].some((p) => String(r.question).includes(String(p)) || String(r.answer).includes(String(p))))).toBe(true);
      expect(tr.some((r) => [...forgetPersons].some((p) => String(r.question).includes(String(p))))).toBe(false);

      await expect(unlearningData(clear, null, 'forget10', 'text')).rejects.toThrow('the text modality needs the TOFU text configs next to the dataset (<data>/tofu); use the vision modality or add them');
      expect((await unlearningData(clear, null, 'forget10', 'vision')).forget.map(key)).toEqual(vision.forget.map(key));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
