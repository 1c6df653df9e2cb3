import { describe, expect, test } from '@jest/globals';
import { jensenShannonDistance } from '../../../src/eval/metrics/jensen-shannon.ts';

// Reference values: Debian 12 python3-scipy 1.10.1-2,
//   /usr/bin/python3 -c "from scipy.spatial.distance import jensenshannon as js; print(repr(js(P, Q[, base])))"
const grid = (n: number, mult: number, mod: number, offset: number): number[] =>
  Array.from({ length: n }, (_, i) => ((i * mult) % mod) / mod + offset);

describe('jensenShannonDistance (scipy.spatial.distance.jensenshannon)', () => {
  test.each([
    // js([1.0, 0.0], [0.5, 0.5]) — scipy's docstring example
    [[1.0, 0.0], [0.5, 0.5], undefined, 0.46450140402245893],
    // js([1.0, 0, 0], [0, 1.0, 0], 2.0): disjoint supports, base 2 → exactly 1
    [[1.0, 0, 0], [0, 1.0, 0], 2, 1.0],
    // js([1, 2, 3, 4], [4, 3, 2, 1]) — unnormalised weights are normalised first
    [[1, 2, 3, 4], [4, 3, 2, 1], undefined, 0.32625164411267443],
    // js([1, 2, 3, 4], [4, 3, 2, 1], 2)
    [[1, 2, 3, 4], [4, 3, 2, 1], 2, 0.3918681606471551],
    // js([0.2, 0.0, 5.0, 1.5, 0.3], [0.1, 0.4, 4.0, 0.0, 2.2]) — zeros on either side
    [[0.2, 0.0, 5.0, 1.5, 0.3], [0.1, 0.4, 4.0, 0.0, 2.2], undefined, 0.40114928520790755],
    // 300 truth-ratio-like values: r1 = [((i*37)%101)/101+0.05 for i in range(300)], r2 = [((i*53)%97)/97+0.05 ...]
    [grid(300, 37, 101, 0.05), grid(300, 53, 97, 0.05), undefined, 0.27322297068519547],
  ] as [number[], number[], number | undefined, number][])('%j vs %j (base %s)', (p, q, base, expected) => {
    const d = jensenShannonDistance(p, q, base);
    expect(Math.abs(d - expected)).toBeLessThanOrEqual(1e-15 * Math.max(1, expected));
  });

  test('identical vectors are at distance exactly 0', () => {
    expect(jensenShannonDistance([0.3, 1.7, 2.2], [0.3, 1.7, 2.2])).toBe(0);
    // scale does not matter after normalisation
    expect(jensenShannonDistance([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 15);
  });

  test('bad input is rejected with a clear message', () => {
    expect(() => jensenShannonDistance([1, 2], [1])).toThrow(/p has 2 entries but q has 1/);
    expect(() => jensenShannonDistance([1, -2], [1, 1])).toThrow(/p\[1\] = -2/);
    expect(() => jensenShannonDistance([0, 0], [1, 1])).toThrow(/p sums to 0/);
    expect(() => jensenShannonDistance([], [])).toThrow(/empty/);
  });
});
