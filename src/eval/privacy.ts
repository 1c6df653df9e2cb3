/**
 * Membership inference (docs/SPEC.md §5): per-sample LOSS, ZLib, Min-K% and Min-K%++ scores of ground-truth
 * answers, their ROC AUCs for telling the forget persons from never-seen ones, and privleak against gold.
 */
import { DEFAULT_MIN_K, lossScore, miaAuc, minKPlusPlusScore, minKScore, privleak, zlibScore } from './metrics/index.ts';
import { type ScoredAnswer } from './score.ts';
import { MIA_ATTACKS, type MiaAttack } from '../protocol/vocabulary.ts';
import { type MiaScores } from '../results/contract.ts';

export { MIA_ATTACKS, type MiaAttack, type MiaScores };

/** One line of `mia.samples.json`. */
export interface MiaRecord extends MiaScores {
  set: 'forget' | 'holdout';
  index: number;
  prompt: string;
  answer: string;
}

/** Loss-like scores (higher = less likely a training member) of one scored answer. */
export function miaScores(s: ScoredAnswer, answer: string): MiaScores {
  const loss = lossScore(s.logProbs.map((v) => -v));
  return {
    loss,
    zlib: zlibScore(loss, answer),
    min_k: minKScore(s.logProbs, DEFAULT_MIN_K),
    min_k_pp: minKPlusPlusScore(s.logProbs, s.mu, s.sigma, DEFAULT_MIN_K),
  };
}

export function miaAucs(records: readonly MiaRecord[]): MiaScores {
  const of = (set: MiaRecord['set'], a: MiaAttack) => records.filter((r) => r.set === set).map((r) => r[a]);
  return Object.fromEntries(MIA_ATTACKS.map((a) => [a, miaAuc(of('forget', a), of('holdout', a))])) as MiaScores;
}

/**
 * privleak of every attack against gold's AUCs. The headline `privleak` is the Min-K% one, as MUSE and
 * OpenUnlearning compute it.
 */
export function privleaks(model: MiaScores, gold: MiaScores): Record<MiaAttack, number | null> {
  return Object.fromEntries(MIA_ATTACKS.map((a) => [a, privleak(model[a], gold[a])])) as Record<MiaAttack, number | null>;
}
