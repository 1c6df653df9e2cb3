/**
 * Membership-inference scores and their summary numbers (docs/SPEC.md §5 "beyond the reference").
 *
 * Conventions follow OpenUnlearning (src/evals/metrics/mia/*.py, utils.mia_auc, privacy.privleak):
 * every per-sample score is loss-like — higher means *less* likely to be a training member.
 * `miaAuc(forget, holdout)` negates the scores and treats the forget set as members, so after the
 * negation a higher score means "more likely member"; the result equals OpenUnlearning's
 * roc_auc_score(labels = [0]*forget + [1]*holdout, loss-like scores): AUC = 1 when the forget
 * samples are far more likely under the model than the never-seen holdout persons, 0.5 = no signal.
 */
import { deflateSync } from 'node:zlib';
import { UserError } from '../../util/errors.ts';
import { meanLoss } from './formulas.ts';
import { rocAuc } from './roc-auc.ts';

/** Fraction of lowest-scoring tokens Min-K% and Min-K%++ average over (docs/SPEC.md §5: k = 0.4). */
export const DEFAULT_MIN_K = 0.4;

/** OpenUnlearning clamps the vocabulary variance at 1e-6 before dividing, i.e. σ ≥ 1e-3. */
export const MIN_K_PLUS_PLUS_MIN_SIGMA = 1e-3;

/** LOSS attack (Yeom et al.): the mean token NLL L̄ of the answer. */
export function lossScore(tokenNll: ArrayLike<number>): number {
  return meanLoss(tokenNll);
}

/**
 * Byte length of `zlib.compress(text.encode('utf-8'))`, computed with node:zlib `deflateSync` at
 * its default level (Z_DEFAULT_COMPRESSION = 6, zlib header and Adler-32 trailer), as CPython's
 * zlib.compress does. The exact byte count depends on the zlib build: Node 20 bundles Chromium's
 * zlib 1.3.1, whose output differs by a few bytes from a CPython linked to zlib 1.2.13.
 */
export function zlibLength(text: string): number {
  return deflateSync(Buffer.from(text, 'utf8')).length;
}

/** ZLib attack (Carlini et al.): L̄ divided by the zlib-compressed byte length of the text. */
export function zlibScore(meanLossValue: number, text: string): number {
  return meanLossValue / Math.max(zlibLength(text), 1);
}

/** Mean of the lowest max(1, ⌊n·k⌋) values (OpenUnlearning's `num_k`). */
function meanOfLowest(values: number[], k: number): number {
  if (!(k > 0 && k <= 1)) throw new UserError(`Min-K%: k = ${k}; k must be in (0, 1]`);
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const count = Math.max(1, Math.floor(sorted.length * k));
  let s = 0;
  for (let i = 0; i < count; i++) s += sorted[i];
  return s / count;
}

function requireTokens(what: string, n: number): void {
  if (n === 0) throw new UserError(`${what}: the answer has no tokens; every answer needs at least one label token`);
}

/** Min-K% Prob (Shi et al.): −mean of the lowest k-fraction of token log-probabilities log p(x_t). */
export function minKScore(tokenLogProbs: ArrayLike<number>, k = DEFAULT_MIN_K): number {
  requireTokens('Min-K%', tokenLogProbs.length);
  return -meanOfLowest(Array.from(tokenLogProbs), k);
}

/**
 * Min-K%++ (Zhang et al.): per token z_t = (log p(x_t) − μ_t) / σ_t, where μ_t and σ_t are the mean
 * and standard deviation of log p(z) for z ~ p(·|x_<t) over the vocabulary (the caller computes
 * them: μ_t = Σ_z p(z) log p(z), σ_t² = Σ_z p(z) log² p(z) − μ_t²); score = −mean of the lowest
 * k-fraction of z_t. σ_t is floored at 1e-3 as OpenUnlearning's min_k_plus_plus.py does.
 */
export function minKPlusPlusScore(
  tokenLogProbs: ArrayLike<number>,
  mu: ArrayLike<number>,
  sigma: ArrayLike<number>,
  k = DEFAULT_MIN_K,
): number {
  requireTokens('Min-K%++', tokenLogProbs.length);
  if (mu.length !== tokenLogProbs.length || sigma.length !== tokenLogProbs.length) {
    throw new UserError(
      `Min-K%++: ${tokenLogProbs.length} token log-probs but ${mu.length} means and ${sigma.length} deviations; pass one of each per token`,
    );
  }
  const z: number[] = [];
  for (let t = 0; t < tokenLogProbs.length; t++) {
    z.push((tokenLogProbs[t] - mu[t]) / Math.max(sigma[t], MIN_K_PLUS_PLUS_MIN_SIGMA));
  }
  return -meanOfLowest(z, k);
}

/**
 * ROC AUC of telling forget samples (members) from holdout samples (never-seen persons, non-members)
 * with loss-like scores from the functions above.
 */
export function miaAuc(forgetScores: readonly number[], holdoutScores: readonly number[]): number {
  const labels: (0 | 1)[] = [...forgetScores.map(() => 1 as const), ...holdoutScores.map(() => 0 as const)];
  const memberness = [...forgetScores, ...holdoutScores].map((s) => -s);
  return rocAuc(labels, memberness);
}

/**
 * MUSE's privleak as OpenUnlearning computes it from MIA AUCs: with AUC' = 1 − AUC,
 * privleak = (AUC'_model − AUC'_gold) / AUC'_gold · 100 (0 = leaks as much as gold).
 * Undefined when gold's AUC is exactly 1 (AUC'_gold = 0): returns null instead of dividing by zero
 * (OpenUnlearning adds 1e-10 to the denominator and reports a huge number).
 */
export function privleak(aucModel: number, aucGold: number): number | null {
  for (const [name, auc] of [['model', aucModel], ['gold', aucGold]] as const) {
    if (!(auc >= 0 && auc <= 1)) throw new UserError(`privleak: the ${name} AUC is ${auc}; an AUC lies in [0, 1]`);
  }
  const model = 1 - aucModel;
  const gold = 1 - aucGold;
  return gold === 0 ? null : ((model - gold) / gold) * 100;
}
