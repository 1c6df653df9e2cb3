/**
 * SCRUB (Kurmanji et al. 2023): the student (θ) moves away from the teacher (the frozen starting model) on
 * the forget set and stays close to it on the retain set, in alternating passes (docs/SPEC.md §6):
 *   max pass (one pass over the forget set, only in the first `max_epochs` epochs): minimise −KL_T(ref‖θ);
 *   min pass (over the retain set, every epoch):                                    minimise α·KL_T(ref‖θ) + γ·CE_r.
 * KL_T applies temperature T to both distributions and multiplies by T² (losses.klDiv).
 * Unlike the CLEAR reference code (one combined step, reversed KL, no alternation), the passes alternate.
 *
 * The min pass iterates the retain set itself, as the reference's train_distill(…, retain_loader,
 * "minimize") does (meghdadk/SCRUB, thirdparty/repdistiller/helper/loops.py), for `retain_steps` batches
 * per epoch; 0 = one whole pass over the retain set, the reference's schedule and the default.
 *
 * Defaults and their sources (meghdadk/SCRUB, large_scale_unlearning.ipynb unless said otherwise):
 *   temperature 4: args.kd_T = 4.   max_epochs 2: args.msteps = 2 (max passes in epochs 1..msteps).
 *   gamma 1 (weight of the CE): small_scale_unlearning.ipynb's args.gamma = 1.
 *   alpha 1 (weight of the KL): kept from this harness's first version; the notebooks use 0.001 (large
 *     scale) and 0.5 (small scale), tuned for image classifiers.
 *   retain_steps 0: a whole retain pass per epoch, as train_distill over retain_loader.
 */
import { defineMethod, losses, type LossResult, type Phase } from '../src/methods/api.ts';

const MAX: Phase = { name: 'max', streams: ['forget'] };

/** The min pass over the retain set: `steps` batches, or (0) one whole pass. */
export function minPhase(steps: number): Phase {
  return { name: 'min', streams: ['retain'], over: 'retain', ...(steps > 0 ? { steps } : {}) };
}

export default defineMethod({
  name: 'scrub',
  description: 'SCRUB: alternating max passes (−KL_T on forget) and min passes (α·KL_T + γ·CE_r on retain) against the frozen teacher.',
  hyperparameters: {
    temperature: { type: 'number', default: 4, min: 1e-6, help: 'softmax temperature T of both distributions in KL_T (scaled by T²)' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight α of the retain KL in the min pass' },
    gamma: { type: 'number', default: 1, min: 0, help: 'weight γ of the retain cross-entropy in the min pass' },
    max_epochs: { type: 'integer', default: 2, min: 0, help: 'epochs (from the first) that run a max pass before their min pass' },
    retain_steps: { type: 'integer', default: 0, min: 0, help: 'min-pass steps (retain batches) per epoch; 0 = one whole pass over the retain set' },
  },
  streams: ['forget', 'retain'],
  reference: true,
  // Within an epoch the max pass runs first, as in SCRUB's training loop.
  phases: (h, epoch) => (epoch < h.max_epochs ? [MAX, minPhase(h.retain_steps)] : [minPhase(h.retain_steps)]),
  loss: ({ h, s, phase }): LossResult => {
    const T = { temperature: h.temperature };
    if (phase === 'max') {
      const f = s.forget!;
      const kl = losses.klDiv(f.ref.logits, f.logits, f.labels, T);
      return { loss: kl.neg(), metrics: { kl_forget: kl } };
    }
    const r = s.retain!;
    const kl = losses.klDiv(r.ref.logits, r.logits, r.labels, T);
    const ce = losses.tokenCE(r.logits, r.labels);
    return { loss: kl.mul(h.alpha).add(ce.mul(h.gamma)), metrics: { kl_retain: kl, ce_retain: ce } };
  },
});
