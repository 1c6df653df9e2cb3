/** kl and llmu: loss values against the formulas, gradients against finite differences, direction on a tiny target. */
import { describe, expect, test } from '@jest/globals';
import kl from '../../methods/kl.ts';
import llmu from '../../methods/llmu.ts';
import { ceRef, klRef, lossCase } from '../helpers/method-loss.ts';
import { gaShift, unlearnShift } from '../helpers/unlearn-measure.ts';

describe('loss values and gradients on a fixed batch', () => {
  test('kl = −CE_f + KL_r(ref‖θ)', async () => {
    const c = lossCase(kl);
    const f = c.data.forget!, r = c.data.retain!;
    expect(await c.value()).toBeCloseTo(-ceRef(f.logits, f.labels) + klRef(r.refLogits, r.logits, r.labels), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('kl: the KL term is 0 when the retain logits equal the reference (hand-computed case)', async () => {
    const c = lossCase(kl);
    const f = c.data.forget!, r = c.data.retain!;
    r.refLogits.set(r.logits);
    expect(await c.value()).toBeCloseTo(-ceRef(f.logits, f.labels), 10);
  });

  test.each([
    ['defaults', {}],
    ['other weights', { eps1: 1.5, eps2: 2, eps3: 0.25 }],
  ])('llmu with %s = −ε1·CE_f + ε2·CE(retain answer) + ε3·KL_r(ref‖θ)', async (_n, hyper) => {
    const c = lossCase(llmu, hyper);
    const e = { eps1: 0.5, eps2: 1, eps3: 1, ...hyper };
    expect(Object.keys(c.data).sort()).toEqual(['forget', 'retain', 'retain_answer']);
    const f = c.data.forget!, m = c.data.retain_answer!, r = c.data.retain!;
    const want = -e.eps1 * ceRef(f.logits, f.labels) + e.eps2 * ceRef(m.logits, m.labels) + e.eps3 * klRef(r.refLogits, r.logits, r.labels);
    expect(await c.value()).toBeCloseTo(want, 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults ε1 0.5, ε2 1, ε3 1, K 5 (llm_unlearn unlearn_harm.py); K random answers per forget sample', () => {
    expect(lossCase(llmu).h).toEqual({ eps1: 0.5, eps2: 1, eps3: 1, k: 5 });
    expect(llmu.draws!({ eps1: 0.5, eps2: 1, eps3: 1, k: 3 })).toEqual({ retain_answer: 3 });
  });

  test('an ill-typed weight is a clear error', () => {
    expect(() => lossCase(llmu, { eps2: '1' })).toThrow("method 'llmu' hyperparameter 'eps2' must be a number, got \"1\"");
    expect(() => lossCase(llmu, { eps3: -1 })).toThrow("method 'llmu' hyperparameter 'eps3' must be ≥ 0, got -1");
  });
});

describe('direction on a tiny target model (3 epochs, lr 1e-3)', () => {
  test('kl raises the forget NLL and damages the retain set less than ga does', async () => {
    const [s, ga] = [await unlearnShift(kl), await gaShift()];
    expect(s.forget).toBeGreaterThan(1);
    expect(s.retain).toBeLessThan(ga.retain - 1);
  });

  test('llmu raises the forget NLL and damages the retain set less than ga does', async () => {
    const [s, ga] = [await unlearnShift(llmu), await gaShift()];
    expect(s.forget).toBeGreaterThan(0.5);
    expect(s.retain).toBeLessThan(ga.retain - 1);
    // The forget answers lose more than the retain answers: the damage is targeted.
    expect(s.forget).toBeGreaterThan(s.retain + 0.3);
  });
});
