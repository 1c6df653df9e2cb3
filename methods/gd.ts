/**
 * Gradient difference: ascent on the forget set, descent on the retain set.
 * Loss = −γ·CE_f + α·L_r with L_r = CE_r (retain_loss: nll) or KL_r(ref‖θ) (retain_loss: kl) (docs/SPEC.md §6).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'gd',
  description: 'Gradient difference: −γ·CE_f + α·(CE_r or KL_r(ref‖θ)).',
  hyperparameters: {
    gamma: { type: 'number', default: 1, min: 0, help: 'weight γ of the forget ascent term' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight α of the retain term' },
    retain_loss: { type: 'enum', default: 'nll', values: ['nll', 'kl'], help: 'retain term: answer NLL or KL to the reference model' },
  },
  streams: ['forget', 'retain'],
  reference: true,
  loss: ({ h, s }) => {
    const f = s.forget!;
    const r = s.retain!;
    const forget = losses.tokenCE(f.logits, f.labels);
    const retain = h.retain_loss === 'kl' ? losses.klDiv(r.ref.logits, r.logits, r.labels) : losses.tokenCE(r.logits, r.labels);
    return { loss: forget.mul(-h.gamma).add(retain.mul(h.alpha)), metrics: { ce_forget: forget, retain } };
  },
});
