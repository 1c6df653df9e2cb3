import { describe, expect, test } from '@jest/globals';
import {
  captionProbability,
  forgetQualityJS,
  forgetQualityKS,
  harmonicMean,
  meanLoss,
  optionNormalisedProbability,
  probFromLoss,
  reportedTruthRatio,
  truthRatioPlus,
  truthRatios,
  utility,
  type TaskScores,
} from '../../../src/eval/metrics/formulas.ts';

const close = (actual: number, expected: number, tol = 1e-15) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));

describe('losses and probabilities (hand-computed)', () => {
  test('meanLoss is summed NLL over token count; probFromLoss is exp(−L̄)', () => {
    expect(meanLoss([0.5, 1.5, 1.0])).toBe(1.0);
    close(probFromLoss(Math.log(4)), 0.25);
    expect(() => meanLoss([])).toThrow(/no tokens/);
  });

  test('caption probability = mean_i exp(−L̄(gt_i))', () => {
    // exp(−ln 2) = 1/2, exp(−ln 4) = 1/4 → mean 3/8
    close(captionProbability([Math.log(2), Math.log(4)]), 0.375);
  });

  test('option-normalised probability = mean_i P(gt)/(P(gt) + Σ_j P(pert_j))', () => {
    // sample 1: P(gt)=1/2, perts 1/4, 1/4 → 0.5/1.0 = 0.5
    // sample 2: P(gt)=1/4, pert 3/4       → 0.25
    // mean 0.375
    const samples = [
      { gtLoss: Math.log(2), pertLosses: [Math.log(4), Math.log(4)] },
      { gtLoss: Math.log(4), pertLosses: [Math.log(4 / 3)] },
    ];
    close(optionNormalisedProbability(samples), 0.375);
  });

  test('option-normalised probability stays defined when every probability underflows', () => {
    // exp(−800) is 0 in float64; the ratio is still P(gt)/(P(gt)+P(pert)) = 1/(1+e^−1)
    close(optionNormalisedProbability([{ gtLoss: 800, pertLosses: [801] }]), 1 / (1 + Math.exp(-1)), 1e-15);
  });
});

describe('truth ratio (docs/SPEC.md §5, hand-computed)', () => {
  // R_i = exp(mean_j L̄(pert_ij) − L̄(para_i))
  const samples = [
    { paraLoss: 1.0, pertLosses: [2.0, 3.0] }, // R = e^(2.5 − 1) = e^1.5
    { paraLoss: 2.0, pertLosses: [1.0] }, //       R = e^(1 − 2) = e^−1
  ];

  test('per-sample TOFU definition', () => {
    const r = truthRatios(samples);
    close(r[0], Math.exp(1.5));
    close(r[1], Math.exp(-1));
    // = P̄(para) / geomean_j P̄(pert_j)
    close(r[0], Math.exp(-1.0) / Math.sqrt(Math.exp(-2.0) * Math.exp(-3.0)));
  });

  test("compat 'clear-code' uses one dataset-wide mean of all perturbed losses", () => {
    // mean of {2, 3, 1} = 2 → R = e^(2−1), e^(2−2)
    const r = truthRatios(samples, 'clear-code');
    close(r[0], Math.exp(1));
    close(r[1], 1);
  });

  test('reported value: forget tasks mean min(R, 1/R); other tasks mean max(0, 1 − 1/R)', () => {
    const r = [Math.exp(1.5), Math.exp(-1)];
    close(reportedTruthRatio(r, 'forget'), (Math.exp(-1.5) + Math.exp(-1)) / 2);
    close(reportedTruthRatio(r, 'other'), (1 - Math.exp(-1.5) + 0) / 2);
    close(reportedTruthRatio([2, 4], 'other'), (0.5 + 0.75) / 2);
    close(reportedTruthRatio([2, 0.5, 1], 'forget'), (0.5 + 0.5 + 1) / 3);
  });

  test('TR⁺ = mean max(0, 1 − 1/R) rises with knowledge; min(R, 1/R) does not', () => {
    // R = 0.5, 1, 2, 10: 1 − 1/R = −1 (→ 0), 0, 0.5, 0.9 → TR⁺ = 1.4/4 = 0.35.
    close(truthRatioPlus([0.5, 1, 2, 10]), 1.4 / 4);
    // A model sure of the paraphrase (R = 100) scores 0.99 on TR⁺ but 0.01 on min(R, 1/R).
    close(truthRatioPlus([100]), 0.99);
    close(reportedTruthRatio([100], 'forget'), 0.01);
    expect(() => truthRatioPlus([])).toThrow(/no samples/);
  });

  test('a sample without perturbed answers is an error', () => {
    expect(() => truthRatios([{ paraLoss: 1, pertLosses: [] }])).toThrow(/sample 0 has no perturbed answers/);
  });
});

describe('forget quality', () => {
  const gold = [0.2, 0.5, 0.9, 1.3, 0.7];

  test('gold against itself: KS p = 1 and 1 − JS = 1', () => {
    expect(forgetQualityKS(gold, [...gold])).toBe(1);
    expect(forgetQualityJS(gold, [...gold])).toBe(1);
  });

  test('KS p-value of the R vectors (scipy ks_2samp)', () => {
    // python3 -c "from scipy.stats import ks_2samp; print(ks_2samp([0.11,0.52,0.93,0.24,0.35],[0.61,0.72,0.83,0.44,0.95]).pvalue)"
    // → 0.35714285714285715 (scipy 1.10.1)
    close(forgetQualityKS([0.11, 0.52, 0.93, 0.24, 0.35], [0.61, 0.72, 0.83, 0.44, 0.95]), 0.35714285714285715, 1e-13);
  });

  test('1 − JS distance of the R vectors normalised to sum 1 (scipy jensenshannon)', () => {
    // python3 -c "from scipy.spatial.distance import jensenshannon; print(1 - jensenshannon([1,2,3,4],[4,3,2,1]))"
    // → 1 − 0.32625164411267443 (scipy 1.10.1)
    close(forgetQualityJS([1, 2, 3, 4], [4, 3, 2, 1]), 1 - 0.32625164411267443);
  });

  test('JS pairs samples by index, so different lengths are refused', () => {
    expect(() => forgetQualityJS([1, 2, 3], [1, 2])).toThrow(/model has 3 Forget samples but gold has 2.*same --forget-split and ds_size/);
  });
});

describe('harmonic mean and utility', () => {
  test('harmonic mean (scipy.stats.hmean) and any zero → 0', () => {
    // python3 -c "from scipy.stats import hmean; print(hmean([0.5,0.25,1.0]), hmean([0.3,0.0,0.9]))" → 0.42857142857142855 0.0
    close(harmonicMean([0.5, 0.25, 1.0]), 3 / 7);
    expect(harmonicMean([0.3, 0.0, 0.9])).toBe(0);
    expect(() => harmonicMean([0.5, -0.1])).toThrow(/finite non-negative/);
    expect(() => harmonicMean([])).toThrow(/no samples/);
  });

  const task = (prob: number, rougeL_recall: number, truth_ratio: number): TaskScores => ({ prob, rougeL_recall, truth_ratio });

  test('utility is the harmonic mean of {prob, ROUGE-L, truth ratio} of every task given', () => {
    // 6 / (3·4 + 3·1); the benchmark-level utility over the named tasks is test/eval/benchmark-scores.test.ts
    close(utility([task(0.25, 0.25, 0.25), task(1, 1, 1)]), 6 / (3 * 4 + 3 * 1));
    expect(utility([task(0.5, 0, 0.5), task(1, 1, 1)])).toBe(0);
  });
});
