/**
 * The protocol's words (docs/SPEC.md §1), defined once: the forget splits and the retain split that
 * complements each, the data modalities, the training recipes, the roles a model plays in a run, and
 * the label that carries no loss, the truth-ratio forms and the membership-inference attacks. Every layer
 * imports them from here; the types derive from the lists.
 */
import { UserError } from '../util/errors.ts';

/** The forget splits of CLEAR: 1 %, 5 % or 10 % of the fictitious persons. */
export const FORGET_SPLITS = ['forget01', 'forget05', 'forget10'] as const;
export type ForgetSplit = (typeof FORGET_SPLITS)[number];

/** The split trained, evaluated and unlearned on when none is named. */
export const DEFAULT_FORGET_SPLIT: ForgetSplit = 'forget10';

/** Each forget split's retain partner: every other person of `full`. */
export const RETAIN_SPLIT_OF = { forget01: 'retain99', forget05: 'retain95', forget10: 'retain90' } as const satisfies Record<ForgetSplit, string>;
export type RetainSplit = (typeof RETAIN_SPLIT_OF)[ForgetSplit];

/** A forget split named by a user (a CLI flag, a library caller), checked. */
export function checkForgetSplit(split: string): ForgetSplit {
  if (!(FORGET_SPLITS as readonly string[]).includes(split)) {
    throw new UserError(`unknown forget split "${split}"; use one of ${FORGET_SPLITS.join(', ')}`);
  }
  return split as ForgetSplit;
}

/** Which examples of the persons a model sees: their QA text, their face images, or both. */
export const MODALITIES = ['text', 'vision', 'joint'] as const;
export type Modality = (typeof MODALITIES)[number];
export const DEFAULT_MODALITY: Modality = 'joint';

/** The training recipes: base from scratch, target on every person, gold on the retain persons only. */
export const RECIPES = ['base', 'target', 'gold'] as const;
export type RecipeName = (typeof RECIPES)[number];

/** The role of a model in a run: a recipe's product, or the product of an unlearning method. */
export const ROLES = [...RECIPES, 'unlearned'] as const;
export type Role = (typeof ROLES)[number];

/** `tofu`: per-sample mean over the perturbed answers (default). `clear-code`: one dataset-wide mean. */
export const TRUTH_RATIO_FORMS = ['tofu', 'clear-code'] as const;
export type TruthRatioCompat = (typeof TRUTH_RATIO_FORMS)[number];

/** The membership-inference attacks whose AUCs and privleaks an evaluation reports. */
export const MIA_ATTACKS = ['loss', 'zlib', 'min_k', 'min_k_pp'] as const;
export type MiaAttack = (typeof MIA_ATTACKS)[number];

/** The label of a position that carries no loss (prompt, image, padding); the engine's convention. */
export { IGNORE_LABEL } from '../engine/graph.ts';
