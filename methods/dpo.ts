/**
 * Direct preference optimisation (Rafailov et al. 2023) with the IDK answer preferred over the forget
 * answer, as in TOFU's unlearning variant (Maini et al. 2024):
 *   L = γ·(−(2/β)·mean_i log σ(β[(S_θ − S_ref)(x_i, y_idk) − (S_θ − S_ref)(x_i, y_f)])) + α·CE_r
 * with S the summed answer log-probability and ref the frozen starting model (docs/SPEC.md §6). Unlike the CLEAR
 * reference code (plain SFT on the IDK answers), this is the preference loss.
 *
 * Defaults: β = 0.1, α = 1, γ = 1, OpenUnlearning's configs/trainer/DPO.yaml (beta 0.1, alpha 1.0, gamma 1.0).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'dpo',
  description: 'DPO preferring an "I don\'t know" answer over the forget answer, plus α·CE_r.',
  hyperparameters: {
    beta: { type: 'number', default: 0.1, min: 1e-6, help: 'inverse temperature β of the preference margin' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight α of the retain cross-entropy' },
    gamma: { type: 'number', default: 1, min: 0, help: 'weight γ of the preference (forget) term' },
  },
  streams: ['forget', 'idk', 'retain'],
  reference: true,
  loss: ({ h, s }) => {
    const f = s.forget!, idk = s.idk!, r = s.retain!;
    // Log-ratio to the reference model per sample: S_θ(x, y) − S_ref(x, y).
    const ratio = (v: typeof f) => losses.seqLogProb(v.logits, v.labels).sub(losses.seqLogProb(v.ref.logits, v.labels));
    const margin = ratio(idk).sub(ratio(f));
    const pref = losses.logSigmoid(margin.mul(h.beta)).mean().mul(-2 / h.beta);
    const retain = losses.tokenCE(r.logits, r.labels);
    return { loss: pref.mul(h.gamma).add(retain.mul(h.alpha)), metrics: { dpo: pref, margin: margin.mean(), ce_retain: retain } };
  },
});
