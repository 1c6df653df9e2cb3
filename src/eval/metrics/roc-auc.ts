/**
 * Area under the ROC curve for binary labels, equal to `sklearn.metrics.roc_auc_score(labels, scores)`:
 * the probability that a random positive outscores a random negative, ties counting one half
 * (the trapezoidal ROC area sklearn computes is exactly this Mann–Whitney form).
 */
import { UserError } from '../../util/errors.ts';

/** ROC AUC with label 1 = positive; tied scores are resolved by mid-ranks. */
export function rocAuc(labels: ArrayLike<0 | 1>, scores: ArrayLike<number>): number {
  if (labels.length !== scores.length) {
    throw new UserError(`rocAuc: ${labels.length} labels but ${scores.length} scores; pass one score per label`);
  }
  const order: number[] = [];
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new UserError(`rocAuc: score ${i} is NaN; fix the per-sample score that produced it`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new UserError(`rocAuc: label ${i} is ${labels[i]}; labels must be 0 or 1`);
    positives += labels[i];
    order.push(i);
  }
  const negatives = scores.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new UserError('rocAuc: only one class is present; the AUC needs at least one positive and one negative sample');
  }
  // Comparison rather than subtraction, so ±Infinity scores sort correctly.
  order.sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0));
  // Sum of the (1-based, mid-ranked) ranks of the positives.
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && scores[order[end]] === scores[order[start]]) end++;
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (labels[order[k]] === 1) positiveRankSum += midRank;
    start = end;
  }
  const u = positiveRankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}
