/**
 * Memorisation of an answer under teacher forcing (docs/SPEC.md §5), from the argmax token ids the model
 * predicts at each answer position and the true answer token ids.
 */
import { UserError } from '../../util/errors.ts';

function checkPair(what: string, predicted: ArrayLike<number>, answer: ArrayLike<number>): void {
  if (predicted.length !== answer.length) {
    throw new UserError(`${what}: ${predicted.length} predicted ids for ${answer.length} answer tokens; pass one prediction per answer token`);
  }
  if (answer.length === 0) throw new UserError(`${what}: the answer has no tokens; every answer needs at least one label token`);
}

/**
 * Extraction strength 1 − k/T, with T the answer length and k the smallest index such that the
 * teacher-forced argmax predictions equal the answer from position k to the end. When even the last
 * token is wrong, k = T (only the empty suffix matches) and the strength is 0. (OpenUnlearning's loop
 * stops at k = T − 1 in that case and reports 1/T; docs/SPEC.md §5's definition gives 0.)
 */
export function extractionStrength(predicted: ArrayLike<number>, answer: ArrayLike<number>): number {
  checkPair('extractionStrength', predicted, answer);
  const T = answer.length;
  let k = T;
  while (k > 0 && predicted[k - 1] === answer[k - 1]) k--;
  return 1 - k / T;
}

/** Exact memorisation: the share of answer tokens whose teacher-forced argmax is the true token. */
export function exactMemorization(predicted: ArrayLike<number>, answer: ArrayLike<number>): number {
  checkPair('exactMemorization', predicted, answer);
  let correct = 0;
  for (let t = 0; t < answer.length; t++) if (predicted[t] === answer[t]) correct++;
  return correct / answer.length;
}
