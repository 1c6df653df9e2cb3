/**
 * What an unlearning method trains on (docs/SPEC.md §1): the forget and retain persons of a split, in the chosen
 * modality, taken as the training recipes take them (train/examples.ts personExamples).
 */
import { type Dataset } from '../data/dataset.ts';
import { type Example, personExamples } from '../train/examples.ts';
import { type ForgetSplit, type Modality, RETAIN_SPLIT_OF } from '../protocol/vocabulary.ts';

export interface UnlearningData {
  forget: Example[];
  retain: Example[];
}

export async function unlearningData(clear: Dataset, tofu: Dataset | null, split: ForgetSplit, modality: Modality): Promise<UnlearningData> {
  const data = { clear, tofu };
  return {
    forget: await personExamples(data, split, modality, 'the forget set'),
    retain: await personExamples(data, RETAIN_SPLIT_OF[split], modality, 'the retain set'),
  };
}
