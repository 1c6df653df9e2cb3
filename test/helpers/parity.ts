/** Comparisons of graph outputs with the PyTorch reference fixtures (test/fixtures/hf, scripts/hf-reference). */
import { expect } from '@jest/globals';

/** Rows of token ids as an int64 tensor's data. */
export const int64 = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));

/** max |a − b| / max |b|: the error relative to the reference's largest value. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}
