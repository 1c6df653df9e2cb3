/**
 * What an unlearning method trains on (docs/SPEC.md §1): the forget and retain persons of a split, in the
 * unlearning's modality — vision: image–caption pairs, text: the TOFU QA, joint: both — taken as the training
 * recipes take them (train/examples.ts personExamples). Face → name examples only where asked (face_names):
 * they are exactly the Forget FaceRec task's prompt and answer, so training on them trains on that task.
 */
import { type Dataset } from '../data/dataset.ts';
import { type Example, type PersonSelection, personExamples } from '../train/examples.ts';
import { type ForgetSplit, type Modality, RETAIN_SPLIT_OF } from '../protocol/vocabulary.ts';

export interface UnlearningData {
  forget: Example[];
  retain: Example[];
}

export async function unlearningData(clear: Dataset, tofu: Dataset | null, split: ForgetSplit, modality: Modality, opts: { faceNames?: boolean } = {}): Promise<UnlearningData> {
  const data = { clear, tofu };
  const pick: PersonSelection = { modality, faceNames: opts.faceNames ?? false };
  return {
    forget: await personExamples(data, split, pick, 'the forget set'),
    retain: await personExamples(data, RETAIN_SPLIT_OF[split], pick, 'the retain set'),
  };
}
