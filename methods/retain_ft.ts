/**
 * Retain fine-tuning: keep training on the retain set only and let the forget set fade (the simplest
 * baseline of TOFU, Maini et al. 2024, and CLEAR). Loss = CE_r (docs/SPEC.md §6).
 */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'retain_ft',
  description: 'Fine-tune on the retain set only (CE_r).',
  hyperparameters: {},
  streams: ['retain'],
  loss: ({ s }) => losses.tokenCE(s.retain!.logits, s.retain!.labels),
});
