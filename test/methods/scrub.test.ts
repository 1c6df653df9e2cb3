/** SCRUB: both phase losses against the formula, gradients, and the max/min alternation on a tiny target. */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import scrub from '../../methods/scrub.ts';
import { unlearn, type UnlearnStepLog } from '../../src/methods/unlearn.ts';
import { batchesPerEpoch } from '../../src/train/loop.ts';
import { passBatches, retainPassSamples } from '../../src/methods/streams.ts';
import { type Example } from '../../src/train/examples.ts';
import { Rng } from '../../src/util/rng.ts';
import { tinyTarget } from '../helpers/tiny-target.ts';
import { measure } from '../helpers/measure.ts';
import { ceRef, klRef, lossCase } from '../helpers/method-loss.ts';

describe('loss values and gradients on a fixed batch', () => {
  test.each([
    ['defaults', {}],
    ['T = 2', { temperature: 2 }],
  ])('max pass (%s): −KL_T(ref‖θ) on the forget batch, × T²', async (_n, hyper) => {
    const c = lossCase(scrub, hyper, { phase: 'max' });
    expect(Object.keys(c.data)).toEqual(['forget']);
    const f = c.data.forget!;
    const T = (c.h.temperature as number);
    expect(await c.value()).toBeCloseTo(-klRef(f.refLogits, f.logits, f.labels, T), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test.each([
    ['defaults', {}],
    ['T = 0.5, α = 0.3, γ = 2', { temperature: 0.5, alpha: 0.3, gamma: 2 }],
  ])('min pass (%s): α·KL_T(ref‖θ) + γ·CE_r on the retain batch', async (_n, hyper) => {
    const c = lossCase(scrub, hyper, { phase: 'min' });
    expect(Object.keys(c.data)).toEqual(['retain']);
    const r = c.data.retain!;
    const { temperature: T, alpha, gamma } = c.h as { temperature: number; alpha: number; gamma: number };
    expect(await c.value()).toBeCloseTo(alpha * klRef(r.refLogits, r.logits, r.labels, T) + gamma * ceRef(r.logits, r.labels), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults T = 4, α = 1, γ = 1, max_epochs = 2, retain_steps = 0 (a whole retain pass)', () => {
    expect(lossCase(scrub).h).toEqual({ temperature: 4, alpha: 1, gamma: 1, max_epochs: 2, retain_steps: 0 });
  });

  test('phases: max (over forget) then min (over retain) while epoch < max_epochs, then min only; retain_steps sets the min budget', () => {
    const h = { temperature: 4, alpha: 1, gamma: 1, max_epochs: 2, retain_steps: 0 };
    const names = (epoch: number, over: Partial<typeof h> = {}) =>
      scrub.phases!({ ...h, ...over }, epoch).map((p) => `${p.name}:${p.streams.join('+')}:${p.over ?? 'forget'}:${p.steps ?? 'pass'}`);
    expect([0, 1, 2, 3].map((e) => names(e))).toEqual([['max:forget:forget:pass', 'min:retain:retain:pass'], ['max:forget:forget:pass', 'min:retain:retain:pass'], ['min:retain:retain:pass'], ['min:retain:retain:pass']]);
    expect(names(0, { max_epochs: 0 })).toEqual(['min:retain:retain:pass']);
    expect(names(0, { retain_steps: 7 })).toEqual(['max:forget:forget:pass', 'min:retain:retain:7']);
  });
});

describe('the min pass iterates the retain set', () => {
  const ex = (answer: string, image: boolean): Example => ({ question: `q ${answer}`, answer, image: image ? ({ path: `${answer}.png` } as unknown as Example['image']) : null });
  const retain = [...Array.from({ length: 7 }, (_, i) => ex(`r${i}`, false)), ...Array.from({ length: 5 }, (_, i) => ex(`ri${i}`, true))];

  test('one whole pass: every retain sample exactly once, one modality per batch, the samples themselves', () => {
    const batches = passBatches(retain, 3, new Rng(1));
    // ⌈7/3⌉ + ⌈5/3⌉ = 3 + 2 batches (text and image apart).
    expect(batches.length).toBe(5);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(retain.map((_, i) => i));
    for (const b of batches) expect(new Set(b.map((i) => retain[i].image === null)).size).toBe(1);
    const s = retainPassSamples(batches[0], retain, 0, 0);
    expect(Object.keys(s)).toEqual(['retain']);
    expect(s.retain!.map((x) => x.answer)).toEqual(batches[0].map((i) => retain[i].answer));
    expect(s.retain!.map((x) => x.question)).toEqual(batches[0].map((i) => retain[i].question));
  });

  test('a step budget takes the first batches, or cycles through fresh orders', () => {
    const all = passBatches(retain, 3, new Rng(1));
    expect(passBatches(retain, 3, new Rng(1), 2)).toEqual(all.slice(0, 2));
    const twelve = passBatches(retain, 3, new Rng(1), 12);
    expect(twelve.length).toBe(12);
    expect(twelve.slice(0, 5)).toEqual(all);
    expect(passBatches(retain, 3, new Rng(1), 0)).toEqual([]);
  });

  test('in the loop, retain_steps sets the min steps of every epoch', async () => {
    const t = await tinyTarget();
    const steps: string[] = [];
    await unlearn({ method: scrub, hyperparameters: { retain_steps: 3 }, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 3, batchSize: 4, seed: 0, onStep: (s) => steps.push(`${s.epoch}:${s.phase}`), optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    const k = batchesPerEpoch(t.forget, 4);
    expect(steps).toEqual([...Array(k).fill('0:max'), ...Array(3).fill('0:min'), ...Array(k).fill('1:max'), ...Array(3).fill('1:min'), ...Array(3).fill('2:min')]);
  });
});

describe('on a tiny target model', () => {
  test('the loop alternates max and min passes as scheduled; forget drifts from the teacher, retain is measured', async () => {
    const t = await tinyTarget();
    const dir = mkdtempSync(join(tmpdir(), 'clearbench-scrub-'));
    const logFile = join(dir, 'unlearn.jsonl');
    const [f0, r0] = [await measure(t, t.forget), await measure(t, t.retain)];
    const batchSize = 4;
    try {
      await unlearn({ method: scrub, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 3, batchSize, seed: 0, logFile, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
      const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as UnlearnStepLog);
      // Max passes take one pass over the forget batches, min passes (retain_steps 0) one over the retain set's.
      const k = batchesPerEpoch(t.forget, batchSize);
      const m = batchesPerEpoch(t.retain, batchSize);
      expect(m).toBeGreaterThan(k);
      const expected = [...Array(k).fill('0:max'), ...Array(m).fill('0:min'), ...Array(k).fill('1:max'), ...Array(m).fill('1:min'), ...Array(m).fill('2:min')];
      expect(log.map((s) => `${s.epoch}:${s.phase}`)).toEqual(expected);
      expect(log.every((s) => s.total_steps === 2 * k + 3 * m)).toBe(true);
      // Each pass logs its own terms: the forget KL in max steps, the retain KL and CE in min steps.
      expect(log.filter((s) => s.phase === 'max').every((s) => Object.keys(s.metrics).join() === 'kl_forget' && Math.abs(s.loss + s.metrics.kl_forget) < 1e-5)).toBe(true);
      expect(log.filter((s) => s.phase === 'min').every((s) => Object.keys(s.metrics).sort().join() === 'ce_retain,kl_retain')).toBe(true);
      // The first step sees θ = teacher (KL 0 up to rounding); the max pass of epoch 0 then pushes the forget
      // distributions away from the teacher.
      const maxKl = log.filter((s) => s.epoch === 0 && s.phase === 'max').map((s) => s.metrics.kl_forget);
      expect(Math.abs(maxKl[0])).toBeLessThan(1e-5);
      expect(maxKl[k - 1]).toBeGreaterThan(0.1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const [f1, r1] = [await measure(t, t.forget), await measure(t, t.retain)];
    console.log(`scrub: forget NLL ${f0.meanNll.toFixed(3)} → ${f1.meanNll.toFixed(3)}, retain NLL ${r0.meanNll.toFixed(3)} → ${r1.meanNll.toFixed(3)}`);
    expect(f1.meanNll).toBeGreaterThan(f0.meanNll);
    expect(r1.meanNll - r0.meanNll).toBeLessThan(f1.meanNll - f0.meanNll);
  });
});
