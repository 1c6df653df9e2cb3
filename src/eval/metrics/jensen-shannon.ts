/**
 * Jensen–Shannon distance, identical to `scipy.spatial.distance.jensenshannon(p, q, base)`
 * (scipy 1.10.1): both vectors are normalised to sum 1, m = (p + q)/2,
 * JS = sqrt((Σ rel_entr(p, m) + Σ rel_entr(q, m)) / 2), natural log unless `base` is given.
 */
import { UserError } from '../../util/errors.ts';

/** scipy.special.rel_entr for the non-negative inputs we accept: x·log(x/y), 0 when x = 0. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/** numpy's pairwise summation (blocks of 8 partial sums below 128 elements), so sums round like np.sum. */
function pairwiseSum(values: Float64Array, start = 0, n = values.length): number {
  if (n < 8) {
    let s = 0;
    for (let i = start; i < start + n; i++) s += values[i];
    return s;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    }
    let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += values[start + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, n - half);
}

function normalised(name: string, values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]) || out[i] < 0) {
      throw new UserError(
        `jensenShannonDistance: ${name}[${i}] = ${out[i]}; the vectors must hold finite non-negative weights`,
      );
    }
  }
  const total = pairwiseSum(out);
  if (!(total > 0)) throw new UserError(`jensenShannonDistance: ${name} sums to ${total}; it needs a positive total`);
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/**
 * Jensen–Shannon distance between two weight vectors of equal length (each normalised to sum 1).
 * A divergence that rounds to a tiny negative number gives 0 here (scipy would return NaN).
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  if (p.length !== q.length) {
    throw new UserError(`jensenShannonDistance: p has ${p.length} entries but q has ${q.length}; pass vectors of equal length`);
  }
  if (p.length === 0) throw new UserError('jensenShannonDistance: the vectors are empty; pass at least one weight');
  if (base !== undefined && !(base > 0 && base !== 1)) {
    throw new UserError(`jensenShannonDistance: base ${base} is not a valid logarithm base; use a positive number other than 1`);
  }
  const pn = normalised('p', p);
  const qn = normalised('q', q);
  const left = new Float64Array(pn.length);
  const right = new Float64Array(pn.length);
  for (let i = 0; i < pn.length; i++) {
    const m = (pn[i] + qn[i]) / 2.0;
    left[i] = relEntr(pn[i], m);
    right[i] = relEntr(qn[i], m);
  }
  let js = pairwiseSum(left) + pairwiseSum(right);
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(Math.max(js / 2.0, 0));
}
