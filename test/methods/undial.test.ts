/** UNDIAL: loss against the formula, gradient against finite differences, one-hot helper, direction on a tiny target. */
import { describe, expect, test } from '@jest/globals';
import undial from '../../methods/undial.ts';
import { Graph } from '../../src/engine/graph.ts';
import { CompiledGraph } from '../../src/engine/session.ts';
import { oneHot } from '../../src/engine/losses.ts';
import { unlearn } from '../../src/methods/unlearn.ts';
import { tinyTarget } from '../helpers/tiny-target.ts';
import { measure } from '../helpers/measure.ts';
import { ceRef, lossCase, softTargetCERef } from '../helpers/method-loss.ts';

describe('loss value and gradient on a fixed batch', () => {
  test.each([10, 2.5, 0])('β = %p: mean over forget tokens of −Σ q log π, q = softmax(z_ref − β·onehot(y))', async (beta) => {
    const c = lossCase(undial, { beta });
    const f = c.data.forget!;
    expect(await c.value()).toBeCloseTo(softTargetCERef(f.refLogits, f.logits, f.labels, beta), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('defaults β 10, γ 1, α 0 (OpenUnlearning UNDIAL.yaml); at α = 0 no retain stream is computed', () => {
    expect(lossCase(undial).h).toEqual({ beta: 10, gamma: 1, alpha: 0 });
    expect(Object.keys(lossCase(undial).data)).toEqual(['forget']);
  });

  test.each([
    ['γ 0.5, α 0', { gamma: 0.5, alpha: 0 }],
    ['γ 2, α 0.7', { gamma: 2, alpha: 0.7 }],
  ])('%s: γ·(soft-target CE on forget) + α·CE_r', async (_n, hyper) => {
    const c = lossCase(undial, { beta: 3, ...hyper });
    const { gamma, alpha } = c.h as { gamma: number; alpha: number };
    expect(Object.keys(c.data).sort()).toEqual(alpha > 0 ? ['forget', 'retain'] : ['forget']);
    const f = c.data.forget!;
    const retain = alpha > 0 ? alpha * ceRef(c.data.retain!.logits, c.data.retain!.labels) : 0;
    expect(await c.value()).toBeCloseTo(gamma * softTargetCERef(f.refLogits, f.logits, f.labels, 3) + retain, 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });
});

describe('losses.oneHot', () => {
  test('1 at the label, all 0 for an ignored label', async () => {
    const g = new Graph();
    const labels = g.constant(BigInt64Array.from([2n, -100n, 0n, 3n]), [2, 2], 'int64');
    const c = await CompiledGraph.compile(g, { y: oneHot(labels, 4) }, { threads: 1 });
    const r = await c.run({});
    await c.release();
    expect(r.y.dims).toEqual([2, 2, 4]);
    expect(Array.from(r.y.data as Float32Array)).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });
});

describe('direction on a tiny target model', () => {
  test('p(y_t) of forget answer tokens falls; the retain set is measured and falls less', async () => {
    const t = await tinyTarget();
    const [f0, r0] = [await measure(t, t.forget), await measure(t, t.retain)];
    await unlearn({ method: undial, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 1, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    const [f1, r1] = [await measure(t, t.forget), await measure(t, t.retain)];
    console.log(`undial: forget p(y) ${f0.tokenProb.toFixed(4)} → ${f1.tokenProb.toFixed(4)}, retain p(y) ${r0.tokenProb.toFixed(4)} → ${r1.tokenProb.toFixed(4)}`);
    expect(f1.tokenProb).toBeLessThan(f0.tokenProb - 0.1);
    // The tiny target barely tells forget from retain persons apart (same templates), and UNDIAL has no retain
    // term, so the retain set falls too; it must fall less than the forget set.
    expect(r0.tokenProb - r1.tokenProb).toBeLessThan(f0.tokenProb - f1.tokenProb);
  });
});
