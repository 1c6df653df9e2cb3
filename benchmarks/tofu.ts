/**
 * The TOFU text tasks of the same persons (docs/SPEC.md §4, "when text data is present"): forget QA, retain QA,
 * real authors, world facts. As in TOFU, forget/retain QA report the plain probability of the answer and
 * the two utility sets the option-normalised one; their paraphrase is the answer itself.
 */
import { type BenchmarkSpec, DEFAULT_DS_SIZE } from '../src/eval/benchmark.ts';

const qa = { dataset: 'tofu', question: 'column', image: false, groundTruth: 'answer', perturbed: 'perturbed_answer', dsSize: DEFAULT_DS_SIZE } as const;

export const tofu: BenchmarkSpec = {
  name: 'tofu',
  description: 'TOFU text tasks of the same persons: forget QA, retain QA, real authors, world facts',
  tasks: [
    { id: 'tofu_forget', title: 'Forget QA', config: '{split}_perturbed', paraphrase: 'paraphrased_answer', kind: 'forget', probability: 'plain', ...qa },
    { id: 'tofu_retain', title: 'Retain QA', config: 'retain_perturbed', paraphrase: 'paraphrased_answer', kind: 'other', probability: 'plain', ...qa },
    { id: 'real_authors', title: 'Real Authors', config: 'real_authors_perturbed', paraphrase: 'answer', kind: 'other', probability: 'option_normalised', ...qa },
    { id: 'world_facts', title: 'World Facts', config: 'world_facts_perturbed', paraphrase: 'answer', kind: 'other', probability: 'option_normalised', ...qa },
  ],
  forgetQualityTask: 'tofu_forget',
  // TOFU's model utility: the harmonic mean of the 9 values of the three non-forget sets.
  utilityTasks: ['tofu_retain', 'real_authors', 'world_facts'],
  paper: { real: ['real_authors', 'world_facts'], retain: ['tofu_retain'], forget: ['tofu_forget'] },
  mia: { memberTask: 'tofu_forget', holdoutConfigs: ['holdout_perturbed', 'holdout{nn}'] },
  extractionTask: 'tofu_forget',
  relearn: { tasks: ['tofu_forget'] },
};
