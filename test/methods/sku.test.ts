/**
 * SKU: the stage-1 loss against the formula, gradients, the stage-2 negation θ_o − (θ_h − θ_o) checked bit
 * for bit against exact rational arithmetic, and on a tiny target the negated model's forget NLL rising
 * (full fine-tuning and LoRA).
 */
import { describe, expect, test } from '@jest/globals';
import sku, { negateTaskVector } from '../../methods/sku.ts';
import { ParamStore } from '../../src/engine/params.ts';
import { addLora, loraDelta } from '../../src/models/lora.ts';
import { unlearn } from '../../src/methods/unlearn.ts';
import { type AnyMethod, type FinalizeContext } from '../../src/methods/api.ts';
import { type Example } from '../../src/train/examples.ts';
import { Rng } from '../../src/util/rng.ts';
import { UserError } from '../../src/util/errors.ts';
import { tinyTarget, type TinyTarget } from '../helpers/tiny-target.ts';
import { measure } from '../helpers/measure.ts';
import { ceRef, klRef, lossCase } from '../helpers/method-loss.ts';

describe('stage 1 loss and gradient on a fixed batch', () => {
  test.each([
    ['defaults', {}],
    ['w_gd = 1, w_rd = 0.3, w_pd = 2', { w_gd: 1, w_rd: 0.3, w_pd: 2 }],
  ])('%s: w_gd·CE_f + w_rd·CE(forget_other) − w_pd·KL_r(ref‖θ)', async (_n, hyper) => {
    const c = lossCase(sku, hyper);
    const { w_gd, w_rd, w_pd } = c.h as Record<string, number>;
    const f = c.data.forget!, o = c.data.forget_other!, r = c.data.retain!;
    expect(await c.value()).toBeCloseTo(w_gd * ceRef(f.logits, f.labels) + w_rd * ceRef(o.logits, o.labels) - w_pd * klRef(r.refLogits, r.logits, r.labels), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults 2.5 / 2.5 / 1 and K 5 (SKU README command, unlearn_harm_new.py K=5)', () => {
    expect(lossCase(sku).h).toEqual({ w_gd: 2.5, w_rd: 2.5, w_pd: 1, k: 5 });
    expect(sku.draws!({ w_gd: 2.5, w_rd: 2.5, w_pd: 1, k: 4 })).toEqual({ forget_other: 4 });
  });
});

// ---- exact arithmetic on float32 values: every finite float32 is an integer multiple of 2^−149 ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);
const fromBits = (b: number) => ((u32[0] = b >>> 0), f32[0]);

/** x · 2^149 as an exact integer. */
function units(x: number): bigint {
  const b = bitsOf(x);
  const e = (b >>> 23) & 0xff;
  const m = BigInt(b & 0x7fffff);
  if (e === 0xff) throw new Error(`not finite: ${x}`);
  const mag = e === 0 ? m : (m | (1n << 23n)) << BigInt(e - 1);
  return b >>> 31 ? -mag : mag;
}

/** Whether r is the float32 nearest to the exact value (ties to the even significand), as IEEE round-to-nearest demands. */
function isCorrectlyRounded(r: number, exact: bigint): boolean {
  const b = bitsOf(r);
  const d = units(r) - exact;
  const dist = d < 0n ? -d : d;
  // The float32 values on either side of r (stepping the bit pattern, across zero where needed).
  const neighbours = [b === 0x80000000 ? 0x00000001 : b >>> 31 ? b - 1 : b + 1, b === 0 ? 0x80000001 : b >>> 31 ? b + 1 : b - 1];
  return neighbours.every((nb) => {
    const n = fromBits(nb);
    if (!Number.isFinite(n)) return true;
    const dn = units(n) - exact;
    const distN = dn < 0n ? -dn : dn;
    return dist < distN || (dist === distN && (b & 1) === 0);
  });
}

describe('stage 2: task-vector negation', () => {
  // Pairs (θ_o, θ_h) with exponents far apart, cancellations, signed zeros and subnormals, plus random weights.
  const rng = new Rng(11);
  const special: [number, number][] = [
    [1e-30, 1], [1, 1e-30], [0.1, 0.1 + 2 ** -27], [1, -0], [-0, 0], [0, -0], [1e-45, 3e-45], [3.1e-41, -2.2e-39],
    [1e30, 1e30 * (1 + 2 ** -23)], [0.0201, -0.0199], [16777216, 1], [1.5e38, 2e38], [1.5e-38, 1.5e-38 * 3],
  ];
  const random = Array.from({ length: 20000 }, (): [number, number] => {
    const o = rng.normal() * 0.02;
    return [o, o + rng.normal() * 10 ** -(1 + rng.int(8))];
  });
  const pairs = [...special, ...random];
  const start = Float32Array.from(pairs, (p) => p[0]);
  const trained = Float32Array.from(pairs, (p) => p[1]);

  test('every output is the float32 nearest to the exact θ_o − (θ_h − θ_o) (bit for bit)', () => {
    const out = negateTaskVector(start, trained);
    const wrong = [...out.keys()].filter((i) => !isCorrectlyRounded(out[i], 2n * units(start[i]) - units(trained[i])));
    expect(wrong).toEqual([]);
    // The same as computing 2θ_o − θ_h in float64 and storing it, bit for bit (signed zeros included).
    const again = Float32Array.from(start, (o, i) => 2 * o - trained[i]);
    expect(Buffer.from(out.buffer).equals(Buffer.from(again.buffer))).toBe(true);
    // The check has teeth: rounding θ_h − θ_o to float32 first goes wrong on some of these pairs.
    const naive = Float32Array.from(start, (o, i) => o - Math.fround(trained[i] - o));
    expect([...naive.keys()].filter((i) => !isCorrectlyRounded(naive[i], 2n * units(start[i]) - units(trained[i]))).length).toBeGreaterThan(0);
  });

  test('finalize negates the trained parameters only', () => {
    const store = new ParamStore(), before = new ParamStore();
    store.add('a.weight', [start.length], trained.slice());
    store.add('b.weight', [3], Float32Array.of(1, 2, 3));
    before.add('a.weight', [start.length], start.slice());
    before.add('b.weight', [3], Float32Array.of(4, 5, 6));
    const buffer = store.get('a.weight').data;
    sku.finalize!({ h: { w_gd: 2.5, w_rd: 2.5, w_pd: 1, k: 5 }, store, start: before, trained: ['a.weight'] });
    expect(store.get('a.weight').data).toBe(buffer); // written in place
    expect(Buffer.from(buffer.buffer).equals(Buffer.from(negateTaskVector(start, trained).buffer))).toBe(true);
    expect(Array.from(store.get('b.weight').data)).toEqual([1, 2, 3]);
  });
});

/** The tiny target with a second forget person (moved from retain), so every forget sample has another person's answer. */
function twoPersonSplit(t: TinyTarget): { forget: Example[]; retain: Example[] } {
  const person = t.retain.find((e) => e.person)!.person!;
  const moved = t.retain.filter((e) => e.person === person || (!e.image && e.question.includes(person)));
  return { forget: [...t.forget, ...moved], retain: t.retain.filter((e) => !moved.includes(e)) };
}

/** SKU whose finalize first records θ_h (the trained parameters just before the negation). */
function recordingSku(seen: Map<string, Float32Array>): AnyMethod {
  return {
    ...sku,
    finalize(ctx: FinalizeContext<never>) {
      for (const n of ctx.trained) seen.set(n, ctx.store.get(n).data.slice());
      sku.finalize!(ctx);
    },
  };
}

describe('on a tiny target model', () => {
  test('full fine-tuning: output = θ_o − (θ_h − θ_o) exactly, untrained weights untouched, forget NLL rises', async () => {
    const t = await tinyTarget();
    const { forget, retain } = twoPersonSplit(t);
    const start = t.store.clone();
    const [f0, r0] = [await measure(t, forget), await measure(t, retain)];
    const hard = new Map<string, Float32Array>();
    const summary = await unlearn({ method: recordingSku(hard), model: t.model, forget, retain, images: t.images, epochs: 1, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    expect([...hard.keys()].sort()).toEqual(summary.trained.slice().sort());
    expect(summary.trained.some((n) => n.startsWith('vision.'))).toBe(false);
    for (const n of t.store.names()) {
      const out = t.store.get(n).data;
      if (!hard.has(n)) {
        expect(Buffer.from(out.buffer).equals(Buffer.from(start.get(n).data.buffer))).toBe(true);
        continue;
      }
      const o = start.get(n).data, h = hard.get(n)!;
      expect(h.some((x, i) => x !== o[i])).toBe(true); // stage 1 trained it
      const bad = [...out.keys()].filter((i) => !isCorrectlyRounded(out[i], 2n * units(o[i]) - units(h[i])));
      expect(bad).toEqual([]);
    }
    const [f1, r1] = [await measure(t, forget), await measure(t, retain)];
    console.log(`sku: forget NLL ${f0.meanNll.toFixed(3)} → ${f1.meanNll.toFixed(3)}, retain NLL ${r0.meanNll.toFixed(3)} → ${r1.meanNll.toFixed(3)}`);
    expect(f1.meanNll).toBeGreaterThan(f0.meanNll + 0.3);
    expect(f1.meanNll - f0.meanNll).toBeGreaterThan(r1.meanNll - r0.meanNll);
  });

  test('a forget set of one person gives image samples no other person: a one-line user error', async () => {
    const t = await tinyTarget();
    expect(new Set(t.forget.map((e) => e.person).filter(Boolean)).size).toBe(1);
    const run = unlearn({ method: sku, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 1, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    await expect(run).rejects.toThrow(/^the 'forget_other' stream needs another forget person with the same kind of question, but forget sample \d+ has none; use a larger forget split or another modality$/);
    await expect(run).rejects.toBeInstanceOf(UserError);
  });

  test('LoRA: A stays, B is negated, so the merged ΔW is exactly −ΔW_h; adapters that do not start at B = 0 are refused', async () => {
    const t = await tinyTarget();
    const { forget, retain } = twoPersonSplit(t);
    const prefixes = addLora(t.store, { rank: 2, alpha: 4, targets: ['lm.blocks.*.mlp.*'] }, 5);
    const hard = new Map<string, Float32Array>();
    await unlearn({ method: recordingSku(hard), model: t.model, forget, retain, images: t.images, epochs: 1, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    for (const p of prefixes) {
      const [A, B] = [t.store.get(`${p}.lora_A`).data, t.store.get(`${p}.lora_B`).data];
      expect(Array.from(A)).toEqual(Array.from(hard.get(`${p}.lora_A`)!));
      expect(Array.from(B)).toEqual(Array.from(hard.get(`${p}.lora_B`)!, (x) => -x));
      expect(B.some((x) => x !== 0)).toBe(true);
      // ΔW = s·A·B is linear in B, so negating B negates ΔW exactly.
      const delta = loraDelta(t.store, p);
      const hd = t.store.clone();
      hd.get(`${p}.lora_B`).data.set(hard.get(`${p}.lora_B`)!);
      expect(Array.from(delta)).toEqual(Array.from(loraDelta(hd, p), (x) => -x));
    }
    // A second SKU run on these (now non-zero) adapters cannot negate ΔW exactly with one adapter: refused.
    await expect(
      unlearn({ method: sku, model: t.model, forget, retain, images: t.images, epochs: 1, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } }),
    ).rejects.toThrow(/sku negates LoRA adapters through B, which must start at 0, but lm\.blocks\.0\.mlp\.fc1\.lora_B does not/);
  });
});
