/**
 * IDK fine-tuning: teach the model to answer the forget prompts with "I don't know" (a random one of the
 * project's IDK answers per sample) while it keeps learning the retain set (TOFU's "IDK", Maini et al.
 * 2024). Loss = γ·CE(forget prompt → IDK answer) + α·CE_r (docs/SPEC.md §6). Unlike the CLEAR reference code, the
 * targets are the IDK answers, not the forget answers.
 *
 * Defaults γ = 1, α = 1: TOFU's forget.py "idk" loss, idk_loss + retain_loss (locuslab/tofu), the weights
 * OpenUnlearning's GradDiff-based trainers default to (configs/trainer/GradDiff.yaml: gamma 1.0, alpha 1.0).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'idk',
  description: 'Fine-tune the forget prompts towards "I don\'t know" answers (weight γ), plus α·CE_r.',
  hyperparameters: {
    gamma: { type: 'number', default: 1, min: 0, help: 'weight γ of the IDK cross-entropy (forget term)' },
    alpha: { type: 'number', default: 1, min: 0, help: 'weight α of the retain cross-entropy' },
  },
  streams: ['idk', 'retain'],
  loss: ({ h, s }) => {
    const idk = losses.tokenCE(s.idk!.logits, s.idk!.labels);
    const retain = losses.tokenCE(s.retain!.logits, s.retain!.labels);
    return { loss: idk.mul(h.gamma).add(retain.mul(h.alpha)), metrics: { ce_idk: idk, ce_retain: retain } };
  },
});
