/** idk and dpo: loss values against the formulas, gradients against finite differences, direction on a tiny target. */
import { describe, expect, test } from '@jest/globals';
import idk from '../../methods/idk.ts';
import dpo from '../../methods/dpo.ts';
import { ceRef, logSigmoid, lossCase, seqLogProbRef } from '../helpers/method-loss.ts';
import { gaShift, unlearnShift } from '../helpers/unlearn-measure.ts';

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

describe('loss values and gradients on a fixed batch', () => {
  test.each([
    ['defaults γ 1, α 1', {}],
    ['γ 0.3, α 2', { gamma: 0.3, alpha: 2 }],
  ])('idk with %s = γ·CE(forget prompt → IDK answer) + α·CE_r', async (_n, hyper) => {
    const c = lossCase(idk, hyper);
    const { gamma, alpha } = c.h as { gamma: number; alpha: number };
    expect(Object.keys(c.data).sort()).toEqual(['idk', 'retain']);
    const i = c.data.idk!, r = c.data.retain!;
    expect(await c.value()).toBeCloseTo(gamma * ceRef(i.logits, i.labels) + alpha * ceRef(r.logits, r.labels), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults: idk γ 1, α 1; dpo β 0.1, α 1, γ 1 (TOFU idk loss, OpenUnlearning DPO.yaml)', () => {
    expect(lossCase(idk).h).toEqual({ gamma: 1, alpha: 1 });
    expect(lossCase(dpo).h).toEqual({ beta: 0.1, alpha: 1, gamma: 1 });
  });

  test.each([
    ['defaults', {}],
    ['β 0.5, α 0.7, γ 0.6', { beta: 0.5, alpha: 0.7, gamma: 0.6 }],
  ])('dpo with %s = γ·(−(2/β)·mean log σ(β[(S_θ−S_ref)(y_idk) − (S_θ−S_ref)(y_f)])) + α·CE_r', async (_n, hyper) => {
    const { beta, alpha, gamma } = { beta: 0.1, alpha: 1, gamma: 1, ...hyper };
    const c = lossCase(dpo, hyper);
    expect(Object.keys(c.data).sort()).toEqual(['forget', 'idk', 'retain']);
    const f = c.data.forget!, i = c.data.idk!, r = c.data.retain!;
    const ratio = (d: typeof f) => {
      const s = seqLogProbRef(d.logits, d.labels), ref = seqLogProbRef(d.refLogits, d.labels);
      return s.map((x, k) => x - ref[k]);
    };
    const [ri, rf] = [ratio(i), ratio(f)];
    const want = gamma * (-2 / beta) * mean(ri.map((x, k) => logSigmoid(beta * (x - rf[k])))) + alpha * ceRef(r.logits, r.labels);
    expect(await c.value()).toBeCloseTo(want, 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('dpo at θ = ref is (2/β)·ln 2 + α·CE_r (hand-computed case)', async () => {
    const c = lossCase(dpo, { beta: 0.5, alpha: 2 });
    const f = c.data.forget!, i = c.data.idk!, r = c.data.retain!;
    f.refLogits.set(f.logits);
    i.refLogits.set(i.logits);
    expect(await c.value()).toBeCloseTo(4 * Math.LN2 + 2 * ceRef(r.logits, r.labels), 10);
  });

  // θ = ref: the preference term is (2/β)·ln 2 = 4·ln 2 at β = 0.5, times γ = 0.25 → ln 2.
  test('dpo with γ = 0.25 at θ = ref is γ·(2/β)·ln 2 + α·CE_r (hand-computed case)', async () => {
    const c = lossCase(dpo, { beta: 0.5, alpha: 2, gamma: 0.25 });
    const f = c.data.forget!, i = c.data.idk!, r = c.data.retain!;
    f.refLogits.set(f.logits);
    i.refLogits.set(i.logits);
    expect(await c.value()).toBeCloseTo(Math.LN2 + 2 * ceRef(r.logits, r.labels), 10);
  });
});

describe('direction on a tiny target model (3 epochs, lr 1e-3)', () => {
  test('idk raises the probability of "I don\'t know" answers to forget prompts and keeps the retain NLL', async () => {
    const s = await unlearnShift(idk);
    expect(s.idk).toBeLessThan(-1); // mean L̄ of the IDK probe falls: P̄ = exp(−L̄) rises by a factor > e
    expect(Math.abs(s.retain)).toBeLessThan(0.5);
  });

  test('dpo raises the IDK probability, lowers the forget answers\', and damages the retain set less than ga does', async () => {
    const [s, ga] = [await unlearnShift(dpo), await gaShift()];
    expect(s.idk).toBeLessThan(-0.5);
    expect(s.forget).toBeGreaterThan(0.5);
    expect(s.retain).toBeLessThan(ga.retain - 1);
  });
});
