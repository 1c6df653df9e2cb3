/** Gradient ascent: maximise the forget set's answer cross-entropy. Loss = −CE_f (docs/SPEC.md §6). */
import { defineMethod, losses } from '../src/methods/api.ts';

export default defineMethod({
  name: 'ga',
  description: 'Gradient ascent on the forget answers (−CE_f).',
  hyperparameters: {},
  streams: ['forget'],
  loss: ({ s }) => losses.tokenCE(s.forget!.logits, s.forget!.labels).neg(),
});
