/** SCRUB: both phase losses against the formula, gradients, and the max/min alternation on a tiny target. */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import scrub from '../../methods/scrub.ts';
import { unlearn, type UnlearnStepLog } from '../../src/methods/unlearn.ts';
import { batchesPerEpoch } from '../../src/train/loop.ts';
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

  test('defaults T = 4, α = 1, γ = 1, max_epochs = 2 (docs/SPEC.md §6)', () => {
    expect(lossCase(scrub).h).toEqual({ temperature: 4, alpha: 1, gamma: 1, max_epochs: 2 });
  });

  test('phases: max then min while epoch < max_epochs, then min only', () => {
    const names = (epoch: number, max_epochs = 2) => scrub.phases!({ temperature: 4, alpha: 1, gamma: 1, max_epochs }, epoch).map((p) => `${p.name}:${p.streams.join('+')}`);
    expect([0, 1, 2, 3].map((e) => names(e))).toEqual([['max:forget', 'min:retain'], ['max:forget', 'min:retain'], ['min:retain'], ['min:retain']]);
    expect(names(0, 0)).toEqual(['min:retain']);
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
      const k = batchesPerEpoch(t.forget, batchSize);
      const expected = [...Array(k).fill('0:max'), ...Array(k).fill('0:min'), ...Array(k).fill('1:max'), ...Array(k).fill('1:min'), ...Array(k).fill('2:min')];
      expect(log.map((s) => `${s.epoch}:${s.phase}`)).toEqual(expected);
      expect(log.every((s) => s.total_steps === 5 * k)).toBe(true);
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
