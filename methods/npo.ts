/**
 * Negative preference optimisation (Zhang et al. 2024, "Negative Preference Optimization: From
 * Catastrophic Collapse to Effective Unlearning"): DPO with only a dispreferred answer, the forget answer.
 *   L = γ·(−(2/β)·mean_i log σ(−β(S_θ(x_i, y_f) − S_ref(x_i, y_f)))) + α·CE_r
 * with S the summed answer log-probability of the whole sequence and ref the frozen starting model
 * (docs/SPEC.md §6; not the CLEAR reference code's per-token probabilities over the vocabulary). The gradient is
 * GA's scaled by 2σ(β(S_θ − S_ref)), which vanishes once the forget answer is unlikely: slower collapse.
 *
 * Defaults: β = 0.1, α = 1, γ = 1, OpenUnlearning's configs/trainer/NPO.yaml (beta 0.1, alpha 1.0, gamma 1.0).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'npo',
  description: 'Negative preference optimisation on the forget answers (weight γ), plus α·CE_r.',
  hyperparameters: {
    beta: { type: 'number', default: 0.1, min: 1e-6, help: 'inverse temperature β' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight α of the retain cross-entropy' },
    gamma: { type: 'number', default: 1, min: 0, help: 'weight γ of the NPO forget term' },
  },
  streams: ['forget', 'retain'],
  reference: true,
  loss: ({ h, s }) => {
    const f = s.forget!, r = s.retain!;
    const ratio = losses.seqLogProb(f.logits, f.labels).sub(losses.seqLogProb(f.ref.logits, f.labels));
    const npo = losses.logSigmoid(ratio.mul(-h.beta)).mean().mul(-2 / h.beta);
    const retain = losses.tokenCE(r.logits, r.labels);
    return { loss: npo.mul(h.gamma).add(retain.mul(h.alpha)), metrics: { npo, log_ratio: ratio.mean(), ce_retain: retain } };
  },
});
