/**
 * The trainer refuses a step whose loss or gradient norm is NaN or infinite: it throws before the
 * update, so the weights and the optimiser state stay as the last finite step left them.
 */
import { describe, expect, test } from '@jest/globals';
import { type Graph } from '../../src/engine/graph.ts';
import { ParamStore, bindParams } from '../../src/engine/params.ts';
import { Trainer } from '../../src/engine/step.ts';
import { NonFiniteStepError, stopOnNonFinite } from '../../src/engine/non-finite.ts';
import { UserError } from '../../src/util/errors.ts';

const W0 = [0.5, -0.25, 1, 2];

/** L = log(Σ w·x) (+ a finite metric): NaN once Σ w·x < 0, while its gradient x / Σ w·x stays finite. */
function logLoss(store: ParamStore) {
  return (g: Graph) => {
    const w = bindParams(g, store)('w');
    const s = w.mul(g.input('x', [4])).sum();
    return { loss: s.log(), metrics: { dot: s, log_dot: s.log() } };
  };
}

/** L = sqrt(Σ w·x): 0 at x = 0, where its gradient x / (2·sqrt(0)) is 0·∞ = NaN. */
function sqrtLoss(store: ParamStore) {
  return (g: Graph) => {
    const w = bindParams(g, store)('w');
    return { loss: w.mul(g.input('x', [4])).sum().sqrt() };
  };
}

async function setup(accumulate = 1) {
  const store = new ParamStore();
  store.add('w', [4], Float32Array.from(W0));
  const trainer = await Trainer.create(store, { optimizer: { type: 'adamw', lr: 0.01 }, maxGradNorm: 1, accumulate, threads: 1 });
  return { store, trainer };
}

const good = { x: Float32Array.from([1, 1, 1, 1]) };
const negative = { x: Float32Array.from([-1, -1, -1, -1]) };

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the step to throw');
}

describe('non-finite steps', () => {
  test('a NaN loss throws at its step, names the non-finite terms only, and leaves the weights untouched', async () => {
    const { store, trainer } = await setup();
    await trainer.run('k', logLoss(store), good);
    await trainer.run('k', logLoss(store), good);
    const before = Array.from(store.get('w').data);
    const e = await thrown(trainer.run('k', logLoss(store), negative));
    expect(e).toBeInstanceOf(NonFiniteStepError);
    expect((e as NonFiniteStepError).step).toBe(3);
    expect((e as NonFiniteStepError).values).toEqual({ loss: NaN, log_dot: NaN }); // the finite metric and norm are not named
    expect(Array.from(store.get('w').data)).toEqual(before);
    expect(trainer.step).toBe(2);
  });

  test('a non-finite gradient norm with a finite loss throws before the update', async () => {
    const { store, trainer } = await setup();
    const e = await thrown(trainer.run('k', sqrtLoss(store), { x: new Float32Array(4) }));
    expect(e).toBeInstanceOf(NonFiniteStepError);
    expect((e as NonFiniteStepError).values).toEqual({ grad_norm: NaN });
    expect((e as Error).message).toBe('non-finite values at optimiser step 1: gradient norm NaN');
    expect(Array.from(store.get('w').data)).toEqual(W0);
    expect(trainer.step).toBe(0);
  });

  test('with accumulation, a NaN micro-batch throws at once and its gradients are dropped', async () => {
    const { store, trainer } = await setup(2);
    const e = await thrown(trainer.run('k', logLoss(store), negative));
    expect((e as NonFiniteStepError).step).toBe(1);
    expect(Array.from(store.get('w').data)).toEqual(W0);
    // The next window starts afresh: two finite micro-batches make step 1 with a finite gradient.
    expect((await trainer.run('k', logLoss(store), good)).step).toBeNull();
    const r = await trainer.run('k', logLoss(store), good);
    expect(r.step).toBe(1);
    expect(Number.isFinite(r.gradNorm)).toBe(true);
    expect(Array.from(store.get('w').data).every(Number.isFinite)).toBe(true);
  });

  test('finite steps are unchanged: the same loss, norm and weights as before the check existed', async () => {
    const { store, trainer } = await setup();
    const r = await trainer.run('k', logLoss(store), good);
    // L = log(Σw) with Σw = 3.25; ∂L/∂w = 1/3.25 each, norm 2/3.25; AdamW's first step moves each weight by lr.
    expect(r.loss).toBeCloseTo(Math.log(3.25), 6);
    expect(r.gradNorm).toBeCloseTo(2 / 3.25, 6);
    const expected = W0.map((w) => w * (1 - 0.01 * 0.01) - 0.01);
    Array.from(store.get('w').data).forEach((w, i) => expect(w).toBeCloseTo(expected[i], 6));
  });

  test('a loop turns it into one line naming the step, epoch, phase and terms and the fix; other errors pass through', () => {
    const e = stopOnNonFinite(new NonFiniteStepError(7, { loss: NaN, ce_forget: Infinity, grad_norm: NaN }), {
      what: "unlearning with 'gd'", totalSteps: 20, epoch: 1, epochs: 4, phase: 'max', fix: 'lower the learning rate',
    });
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toBe(
      "unlearning with 'gd' stopped at step 7 of 20 (epoch 2 of 4, phase max): non-finite loss NaN, ce_forget Infinity, gradient norm NaN; no checkpoint was written; lower the learning rate",
    );
    const other = new Error('disk full');
    expect(stopOnNonFinite(other, { what: 'training', totalSteps: 1, epoch: 0, epochs: 1, fix: '' })).toBe(other);
  });
});
