/**
 * LLMU (Yao et al. 2023, "Large Language Model Unlearning"): ascent on the forget answers, descent
 * towards random retain samples' answers to the forget prompt (the "random mismatch" term), and a KL
 * term keeping the retain predictions near the starting model's:
 *   L = −ε1·CE_f + ε2·CE(forget prompt → K random retain answers) + ε3·KL_r(ref‖θ)   (docs/SPEC.md §6)
 * The mismatch batch holds K rows per forget sample (its prompt with K distinct random retain answers),
 * its CE the mean over all their answer tokens.
 *
 * Defaults from the authors' code (kevinyaobytedance/llm_unlearn, unlearn_harm.py): ε1 = 0.5
 * (--bad_weight), ε2 = 1 (--random_weight), ε3 = 1 (--normal_weight), K = 5 (get_rand_ans_loss(…, K=5)).
 * There the K answers are drawn once per batch; here per forget sample (seeded).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'llmu',
  description: 'Forget ascent + random retain-answer mismatch + KL to the starting model on retain.',
  hyperparameters: {
    eps1: { type: 'number', default: 0.5, min: 0, help: 'weight ε1 of the forget ascent term' },
    eps2: { type: 'number', default: 1, min: 0, help: 'weight ε2 of the random retain-answer (mismatch) term' },
    eps3: { type: 'number', default: 1, min: 0, help: 'weight ε3 of the KL to the reference model on retain' },
    k: { type: 'integer', default: 5, min: 1, help: 'K: random retain answers per forget sample in the mismatch term' },
  },
  draws: (h) => ({ retain_answer: h.k }),
  streams: ['forget', 'retain_answer', 'retain'],
  reference: true,
  loss: ({ h, s }) => {
    const f = s.forget!, mis = s.retain_answer!, r = s.retain!;
    const forget = losses.tokenCE(f.logits, f.labels);
    const mismatch = losses.tokenCE(mis.logits, mis.labels);
    const kl = losses.klDiv(r.ref.logits, r.logits, r.labels);
    return {
      loss: forget.mul(-h.eps1).add(mismatch.mul(h.eps2)).add(kl.mul(h.eps3)),
      metrics: { ce_forget: forget, ce_mismatch: mismatch, kl_retain: kl },
    };
  },
});
