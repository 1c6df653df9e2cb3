/** GA and GD: loss values against the formula, gradients against finite differences, and direction on a tiny target. */
import { describe, expect, test } from '@jest/globals';
import ga from '../../methods/ga.ts';
import gd from '../../methods/gd.ts';
import { unlearn } from '../../src/methods/unlearn.ts';
import { type AnyMethod } from '../../src/methods/api.ts';
import { Scorer } from '../../src/eval/score.ts';
import { questionFor, type Example } from '../../src/train/examples.ts';
import { tinyTarget, type TinyTarget } from '../helpers/tiny-target.ts';
import { ceRef, klRef, lossCase } from '../helpers/method-loss.ts';

async function meanNll(t: TinyTarget, examples: readonly Example[]): Promise<number> {
  const sc = new Scorer(t.model, 1);
  const r = await sc.score(examples.map((e, i) => ({ question: questionFor(e, 0, 0, i), answer: e.answer, image: e.image ? t.images.get(e.image)! : null })));
  await sc.release();
  return r.reduce((a, x) => a + x.meanNll, 0) / r.length;
}

describe('direction on a tiny target model', () => {
  test('ga raises the forget NLL', async () => {
    const t = await tinyTarget();
    const before = await meanNll(t, t.forget);
    await unlearn({ method: ga, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 3, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    expect(await meanNll(t, t.forget)).toBeGreaterThan(before + 0.5);
  });

  test('gd raises the forget NLL and damages the retain set less than ga does', async () => {
    const run = async (method: AnyMethod) => {
      const t = await tinyTarget();
      const [f0, r0] = [await meanNll(t, t.forget), await meanNll(t, t.retain)];
      await unlearn({ method, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 3, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
      return { forget: (await meanNll(t, t.forget)) - f0, retain: (await meanNll(t, t.retain)) - r0 };
    };
    const a = await run(ga);
    const d = await run(gd);
    expect(d.forget).toBeGreaterThan(0.5);
    expect(d.retain).toBeLessThan(a.retain);
  });
});

describe('loss values and gradients on a fixed batch', () => {
  test('ga = −CE_f', async () => {
    const c = lossCase(ga);
    const f = c.data.forget!;
    expect(await c.value()).toBeCloseTo(-ceRef(f.logits, f.labels), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test.each([
    ['nll', { gamma: 0.7, alpha: 1.3, retain_loss: 'nll' }],
    ['kl', { gamma: 1, alpha: 0.5, retain_loss: 'kl' }],
  ])('gd with retain_loss %s = −γ·CE_f + α·L_r', async (_n, hyper) => {
    const c = lossCase(gd, hyper);
    const f = c.data.forget!, r = c.data.retain!;
    const retain = hyper.retain_loss === 'kl' ? klRef(r.refLogits, r.logits, r.labels) : ceRef(r.logits, r.labels);
    expect(await c.value()).toBeCloseTo(-hyper.gamma * ceRef(f.logits, f.labels) + hyper.alpha * retain, 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('an unknown or ill-typed hyperparameter is a clear error', () => {
    expect(() => lossCase(gd, { gama: 1 })).toThrow("method 'gd' has no hyperparameter 'gama'");
    expect(() => lossCase(gd, { retain_loss: 'l2' })).toThrow("method 'gd' hyperparameter 'retain_loss' must be one of nll, kl");
  });
});
