/**
 * Benchmark-level numbers over the tasks a benchmark definition names: CLEAR's model utility and paper
 * columns, with hand-computed harmonic means, and tasks outside a column left out of it.
 */
import { describe, expect, test } from '@jest/globals';
import { getBenchmark } from '../../benchmarks/index.ts';
import { benchmarkUtility, forgetQuality, paperColumns } from '../../src/eval/benchmark-scores.ts';
import { type TaskSummary } from '../../src/eval/task-metrics.ts';

const close = (actual: number, expected: number, tol = 1e-15) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));
const task = (prob: number, rougeL_recall: number, truth_ratio: number): TaskSummary => ({ prob, rougeL_recall, truth_ratio, n: 3 });
const clear = getBenchmark('clear');

describe('CLEAR model utility', () => {
  // The forget tasks are 0 everywhere: a utility that counted them would be 0.
  const tasks = {
    forget: task(0, 0, 0),
    forget_facerec: task(0, 0, 0),
    real_faces: task(0.5, 0.5, 0.5),
    real_world: task(0.5, 0.5, 0.5),
    retain: task(0.25, 0.25, 0.25),
    retain_facerec: task(1, 1, 1),
  };

  test('harmonic mean of the 12 values of Real Faces, Real World, Retain and Retain FaceRec', () => {
    // 12 / (6·2 + 3·4 + 3·1) = 12/27
    close(benchmarkUtility(clear, tasks), 12 / 27);
  });

  test('one zero among the 12 makes it 0', () => {
    expect(benchmarkUtility(clear, { ...tasks, real_world: task(0.5, 0, 0.5) })).toBe(0);
  });
});

describe('CLEAR paper columns', () => {
  const tasks = {
    real_faces: task(0.5, 0.9, 0.5),
    real_world: task(0.25, 0.9, 0.25),
    retain: task(1, 0.9, 1),
    retain_facerec: task(0.5, 0.9, 0.5),
    forget: task(0.2, 0.9, 0.2),
    forget_facerec: task(0.2, 0.9, 0.2),
  };
  // Per-sample R_i of the forget tasks. forget: R = 2 and 4 → TR⁺ = ((1 − 1/2) + (1 − 1/4))/2 = 0.625;
  // forget_facerec: R = 0.5 and 5 → TR⁺ = (max(0, 1 − 2) + (1 − 1/5))/2 = 0.4.
  const ratios = { forget: [2, 4], forget_facerec: [0.5, 5] };

  test('H(prob, TR) over the two tasks of each column; ROUGE-L is not part of them', () => {
    const row = paperColumns(clear, tasks, ratios, null);
    close(row.real, 4 / (2 + 2 + 4 + 4));
    close(row.retain, 4 / (1 + 1 + 2 + 2));
    expect(row.forget_quality).toBeNull();
  });

  test('Forget = H(prob, TR⁺) from the per-sample ratios; forget_clear_code = H(prob, task truth ratio)', () => {
    const row = paperColumns(clear, tasks, ratios, null);
    // H(0.2, 0.625, 0.2, 0.4) = 4 / (5 + 1.6 + 5 + 2.5) = 4 / 14.1
    close(row.forget, 4 / 14.1);
    // The tasks' reported min(R, 1/R) means (0.2 each): H(0.2, 0.2, 0.2, 0.2) = 0.2.
    close(row.forget_clear_code!, 0.2);
  });

  test('a model that is sure of every forget answer scores high on Forget and 0 under the reference formula', () => {
    // Samples with R = 1e6: min(R, 1/R) = 1e-6 → the clear-code column is ~0; TR⁺ = 1 − 1e-6.
    const sure = [1e6, 1e6];
    const knows = { ...tasks, forget: task(0.9, 0.9, 1e-6), forget_facerec: task(0.9, 0.9, 1e-6) };
    const row = paperColumns(clear, knows, { forget: sure, forget_facerec: sure }, null);
    // H(0.9, 1 − 1e-6, 0.9, 1 − 1e-6) = 2 / (1/0.9 + 1/(1 − 1e-6))
    close(row.forget, 2 / (1 / 0.9 + 1 / (1 - 1e-6)), 1e-12);
    // H(0.9, 1e-6, 0.9, 1e-6) = 2 / (1/0.9 + 1e6)
    close(row.forget_clear_code!, 2 / (1 / 0.9 + 1e6), 1e-12);
  });

  test('forget quality is FQ_JS', () => {
    expect(paperColumns(clear, tasks, ratios, { ks: 0.3, js: 0.8 }).forget_quality).toBe(0.8);
    const fq = forgetQuality([1, 2, 3, 4], [1, 2, 3, 4]);
    expect(paperColumns(clear, tasks, ratios, fq).forget_quality).toBe(fq.js);
  });
});
