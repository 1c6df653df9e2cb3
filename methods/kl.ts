/**
 * KL minimisation: gradient ascent on the forget answers while the retain predictions stay close to the
 * starting model's (TOFU, Maini et al. 2024). Loss = −CE_f + KL_r(ref‖θ) (docs/SPEC.md §6), the KL averaged over
 * the retain answer tokens.
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'kl',
  description: 'Ascent on the forget answers plus KL to the starting model on retain (−CE_f + KL_r(ref‖θ)).',
  hyperparameters: {},
  streams: ['forget', 'retain'],
  reference: true,
  loss: ({ s }) => {
    const f = s.forget!;
    const r = s.retain!;
    const forget = losses.tokenCE(f.logits, f.labels);
    const kl = losses.klDiv(r.ref.logits, r.logits, r.labels);
    return { loss: forget.neg().add(kl), metrics: { ce_forget: forget, kl_retain: kl } };
  },
});
