/**
 * UNDIAL (Dong et al. 2024): self-distillation with adjusted logits. On every forget answer token the
 * target distribution is the frozen starting model's, with the true token's logit lowered by β:
 *   q_t = softmax(z_ref,t − β·onehot(y_t)),   L = mean over forget answer tokens of −Σ_v q_t(v) log π_θ(v)
 * (docs/SPEC.md §6). The target is detached, so only π_θ moves, towards a distribution that keeps everything the
 * reference knew except the answer token's probability. As in OpenUnlearning's UNDIAL the total is
 *   γ·L + α·CE_r
 * with an optional retain cross-entropy (α = 0, off, by default; the retain stream is then not computed).
 *
 * Defaults: β = 10, γ = 1, α = 0, OpenUnlearning's configs/trainer/UNDIAL.yaml (beta 10.0, gamma 1.0, alpha 0.0).
 */
import { defineMethod, losses, type LossResult } from '../src/methods/api.ts';

export default defineMethod({
  name: 'undial',
  description: 'UNDIAL: distil the frozen model with the answer token\'s logit lowered by β (soft-target cross-entropy on forget tokens).',
  hyperparameters: {
    beta: { type: 'number', default: 10, min: 0, help: 'β subtracted from the reference logit of the answer token' },
    gamma: { type: 'number', default: 1, min: 0, help: 'weight γ of the self-distillation (forget) term' },
    alpha: { type: 'number', default: 0, min: 0, help: 'weight α of an optional retain cross-entropy (0: off)' },
  },
  streams: ['forget'],
  // The retain stream costs a forward and backward pass: only when its term counts.
  phases: (h) => [{ name: 'main', streams: h.alpha > 0 ? ['forget', 'retain'] : ['forget'] }],
  reference: true,
  loss: ({ h, s, model }): LossResult => {
    const f = s.forget!;
    const z = f.logits;
    const adjusted = f.ref.logits.sub(losses.oneHot(f.labels, model.vocabSize, z.dtype).mul(h.beta));
    const q = adjusted.softmax(-1).detach();
    // −Σ_v q log π per position [B, S], averaged over the scored positions only.
    const perToken = q.mul(z.logSoftmax(-1)).sum(-1).neg();
    const mask = f.mask.cast(z.dtype);
    // max(count, 1): a batch without scored tokens gives 0, not NaN.
    const ce = perToken.mul(mask).sum().div(mask.sum().clip(1, 1e30));
    if (!(h.alpha > 0)) return { loss: ce.mul(h.gamma), metrics: { ce_soft: ce } };
    const retain = losses.tokenCE(s.retain!.logits, s.retain!.labels);
    return { loss: ce.mul(h.gamma).add(retain.mul(h.alpha)), metrics: { ce_soft: ce, ce_retain: retain } };
  },
});
