/**
 * SimNPO (Fan et al. 2024, "Simplicity Prevails: Rethinking Negative Preference Optimization for LLM
 * Unlearning"): NPO without a reference model, on the length-normalised answer NLL L̄_θ = NLL/n, with a
 * reward margin δ:
 *   L = γ·(−(2/β)·mean_i log σ(β·L̄_θ(x_i, y_f) − δ)) + α·CE_r      (docs/SPEC.md §6)
 *
 * Defaults: β = 4.5, δ = 0, α = 1, γ = 0.125, OpenUnlearning's configs/trainer/SimNPO.yaml (beta 4.5,
 * delta 0.0, alpha 1.0, gamma 0.125 — the npo_coeff of the SimNPO authors' TOFU config,
 * OPTML-Group/Unlearn-Simple TOFU/config/forget.yaml).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'simnpo',
  description: 'Reference-free NPO on the length-normalised forget NLL, plus α·CE_r.',
  hyperparameters: {
    beta: { type: 'number', default: 4.5, min: 1e-6, help: 'inverse temperature β' },
    delta: { type: 'number', default: 0, help: 'reward margin δ' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight α of the retain cross-entropy' },
    gamma: { type: 'number', default: 0.125, min: 0, help: 'weight γ of the SimNPO forget term' },
  },
  streams: ['forget', 'retain'],
  loss: ({ h, s }) => {
    const f = s.forget!, r = s.retain!;
    const nll = losses.tokenCEPerSample(f.logits, f.labels); // L̄_θ per sample
    const simnpo = losses.logSigmoid(nll.mul(h.beta).sub(h.delta)).mean().mul(-2 / h.beta);
    const retain = losses.tokenCE(r.logits, r.labels);
    return { loss: simnpo.mul(h.gamma).add(retain.mul(h.alpha)), metrics: { simnpo, nll_forget: nll.mean(), ce_retain: retain } };
  },
});
