import { describe, expect, test } from '@jest/globals';
import { deflateSync } from 'node:zlib';
import {
  lossScore,
  miaAuc,
  minKPlusPlusScore,
  minKScore,
  privleak,
  zlibLength,
  zlibScore,
} from '../../../src/eval/metrics/mia.ts';
import { rocAuc } from '../../../src/eval/metrics/roc-auc.ts';

const close = (actual: number, expected: number, tol = 1e-15) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));

describe('rocAuc (sklearn.metrics.roc_auc_score)', () => {
  test('ties count one half', () => {
    // /usr/bin/python3 -c "from sklearn.metrics import roc_auc_score as a; print(a([1,1,1,0,0,0,0],[0.9,0.4,0.4,0.4,0.2,0.95,0.1]))"
    // → 0.6666666666666666 (Debian 12 python3-sklearn 1.2.1); by hand: (3 + 2.5 + 2.5) / 12
    close(rocAuc([1, 1, 1, 0, 0, 0, 0], [0.9, 0.4, 0.4, 0.4, 0.2, 0.95, 0.1]), 0.6666666666666666);
    // a([1]*4+[0]*5, [1,1,2,3,0,1,2,2,5]) → 0.5
    close(rocAuc([1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 2, 3, 0, 1, 2, 2, 5]), 0.5);
  });

  test('perfect and reversed separation; all tied', () => {
    expect(rocAuc([1, 1, 0, 0], [3, 4, 1, 2])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [1, 2, 3, 4])).toBe(0);
    expect(rocAuc([1, 0, 1, 0], [7, 7, 7, 7])).toBe(0.5);
    expect(rocAuc([1, 0], [Infinity, -Infinity])).toBe(1);
  });

  test('one class only is an error, as in sklearn', () => {
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow(/only one class/);
    expect(() => rocAuc([1, 0], [0.1, NaN])).toThrow(/score 1 is NaN/);
  });
});

describe('membership-inference scores (OpenUnlearning conventions)', () => {
  test('LOSS = mean token NLL', () => {
    close(lossScore([1, 2, 4.5]), 2.5);
  });

  test('ZLib = L̄ / zlib-compressed byte length (node:zlib deflateSync, default level)', () => {
    // "" compresses to the 8-byte zlib stream 78 9c 03 00 00 00 00 01 (header, empty block, Adler-32),
    // the same bytes CPython's zlib.compress(b"") returns.
    expect(deflateSync(Buffer.alloc(0)).toString('hex')).toBe('789c030000000001');
    expect(zlibLength('')).toBe(8);
    close(zlibScore(2.0, ''), 0.25);
    // Repetitive text compresses better, so the same loss gives a larger score.
    expect(zlibScore(1, 'ab'.repeat(200))).toBeGreaterThan(zlibScore(1, 'The quick brown fox jumps over the lazy dog, twice.'));
  });

  test('Min-K% = −mean of the lowest max(1, ⌊0.4·n⌋) token log-probs', () => {
    // n = 5 → ⌊2.0⌋ = 2 lowest: −2 and −3 → 2.5
    close(minKScore([-0.1, -2, -0.5, -3, -0.2]), 2.5);
    // n = 2 → ⌊0.8⌋ = 0 → at least 1 value: the lowest, −4
    close(minKScore([-1, -4]), 4);
    close(minKScore([-1, -4, -2, -3], 0.5), 3.5);
  });

  test('Min-K%++ normalises each token by the vocabulary mean and std of log p', () => {
    // z = (logp − μ)/σ = [(−1+2)/1, (−3+2)/0.5, (−2+2)/2, (−5+1)/4] = [1, −2, 0, −1]
    // n = 4 → ⌊1.6⌋ = 1 lowest: −2 → score 2
    close(minKPlusPlusScore([-1, -3, -2, -5], [-2, -2, -2, -1], [1, 0.5, 2, 4]), 2);
    // k = 0.5 → 2 lowest: −2, −1 → 1.5
    close(minKPlusPlusScore([-1, -3, -2, -5], [-2, -2, -2, -1], [1, 0.5, 2, 4], 0.5), 1.5);
    // σ is floored at 1e-3 (OpenUnlearning clamps the variance at 1e-6)
    close(minKPlusPlusScore([-1], [-2], [0]), -1000);
    expect(() => minKPlusPlusScore([-1, -2], [-1], [1, 1])).toThrow(/one of each per token/);
  });

  test('miaAuc: forget = members; AUC → 1 when forget losses are lower than holdout losses', () => {
    // OpenUnlearning: roc_auc_score([0]*4 + [1]*5, forget + holdout) with loss-like scores
    // /usr/bin/python3 -c "from sklearn.metrics import roc_auc_score as a; print(a([0]*4+[1]*5,[0.5,1.0,1.0,2.0,1.0,3.0,0.2,2.0,2.5]))"
    // → 0.675 (sklearn 1.2.1)
    close(miaAuc([0.5, 1.0, 1.0, 2.0], [1.0, 3.0, 0.2, 2.0, 2.5]), 0.675);
    expect(miaAuc([0.1, 0.2], [1, 2])).toBe(1);
    expect(miaAuc([1, 2], [0.1, 0.2])).toBe(0);
  });

  test('privleak = (AUC′_model − AUC′_gold)/AUC′_gold · 100 with AUC′ = 1 − AUC', () => {
    // model AUC 0.8 → 0.2; gold AUC 0.6 → 0.4; (0.2 − 0.4)/0.4·100 = −50
    close(privleak(0.8, 0.6) as number, -50, 1e-13);
    expect(privleak(0.6, 0.6)).toBe(0);
    expect(privleak(0.7, 1)).toBeNull();
    expect(() => privleak(1.2, 0.5)).toThrow(/model AUC is 1.2/);
  });
});
