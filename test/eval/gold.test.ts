/**
 * Reading the gold model's evaluation and forget quality from it: gold's per-sample truth ratios are paired
 * with the model's by sample index, and mismatched evaluations are refused with a message naming the fix.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic.ts';
import { UserError } from '../../src/util/errors.ts';
import { pairedGoldRatios, readGold } from '../../src/eval/gold.ts';
import { forgetQuality } from '../../src/eval/benchmark-scores.ts';

const root = mkdtempSync(join(tmpdir(), 'clearbench-gold-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function goldDir(name: string, summary: Record<string, unknown>, ratios: number[]): string {
  const dir = join(root, name);
  writeFileAtomic(join(dir, 'summary.json'), JSON.stringify({ benchmark: 'clear', forget_split: 'forget10', ...summary }));
  writeFileAtomic(join(dir, 'forget.samples.json'), JSON.stringify(ratios.map((truth_ratio, index) => ({ index, truth_ratio }))));
  return dir;
}

const expectTruthRatio = { benchmark: 'clear', forgetSplit: 'forget10', task: 'forget', compat: 'tofu' as const };

describe('gold evaluation', () => {
  test('forget quality from gold files: KS p and 1 − JS distance computed by hand', () => {
    const dir = goldDir('g', { privacy: { mia_auc: { loss: 0.5, zlib: 0.6, min_k: 0.7, min_k_pp: 0.8 } } }, [4, 5, 6]);
    const gold = readGold(dir, expectTruthRatio);
    expect(gold.miaAuc).toEqual({ loss: 0.5, zlib: 0.6, min_k: 0.7, min_k_pp: 0.8 });
    const fq = forgetQuality([1, 2, 3], pairedGoldRatios(gold, [0, 1, 2]));
    // Disjoint samples of 3 and 3: D = 1, exact two-sided p = 2 / C(6, 3) = 0.1.
    // scipy 1.17.1: ks_2samp([1,2,3],[4,5,6]).pvalue = 0.09999999999999999, 1 - jensenshannon(...) = 0.9072364203221174.
    expect(fq.ks).toBeCloseTo(0.1, 14);
    const p = [1, 2, 3].map((v) => v / 6);
    const q = [4, 5, 6].map((v) => v / 15);
    let div = 0;
    p.forEach((pi, i) => {
      const m = (pi + q[i]) / 2;
      div += 0.5 * pi * Math.log(pi / m) + 0.5 * q[i] * Math.log(q[i] / m);
    });
    expect(fq.js).toBeCloseTo(1 - Math.sqrt(div), 14);
    expect(fq.js).toBeCloseTo(0.9072364203221174, 14);
  });

  test('mismatched gold evaluations are refused', () => {
    const dir = goldDir('g2', {}, [1, 2, 3]);
    expect(readGold(dir, expectTruthRatio).miaAuc).toBeNull();
    expect(() => pairedGoldRatios(readGold(dir, expectTruthRatio), [0, 1])).toThrow(/same --forget-split, --ds-size/);
    expect(() => pairedGoldRatios(readGold(dir, expectTruthRatio), [0, 1, 3])).toThrow(UserError);
    expect(() => readGold(dir, { ...expectTruthRatio, forgetSplit: 'forget05' })).toThrow(/clear\/forget10, not clear\/forget05/);
    expect(() => readGold(dir, { ...expectTruthRatio, compat: 'clear-code' })).toThrow(/same --truth-ratio/);
    expect(() => readGold(join(root, 'absent'), expectTruthRatio)).toThrow(/evaluate the gold model first/);
    const bad = goldDir('g3', {}, [1, -2]);
    expect(() => readGold(bad, expectTruthRatio)).toThrow(/sample 1 .* positive "truth_ratio"/);
    writeFileAtomic(join(bad, 'summary.json'), '{not json');
    expect(() => readGold(bad, expectTruthRatio)).toThrow(/not valid JSON/);
  });
});
