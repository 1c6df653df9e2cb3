/**
 * What an unlearning method trains on (SPEC §1): the forget and retain persons of a split, in the chosen
 * modality — `vision`: their image captions and face names, `text`: their TOFU QA, `joint`: both.
 */
import { type Dataset } from '../data/dataset.ts';
import { type Example, requiredExamples } from '../train/examples.ts';
import { type ForgetSplit, type Modality, RETAIN_SPLIT_OF } from '../protocol/vocabulary.ts';
import { UserError } from '../util/errors.ts';

export interface UnlearningData {
  forget: Example[];
  retain: Example[];
}

export async function unlearningData(clear: Dataset, tofu: Dataset | null, split: ForgetSplit, modality: Modality): Promise<UnlearningData> {
  const retainSplit = RETAIN_SPLIT_OF[split];
  const out: UnlearningData = { forget: [], retain: [] };
  if (modality !== 'text') {
    out.forget.push(...(await requiredExamples(clear, split, { faceNames: true }, 'the forget set')));
    out.retain.push(...(await requiredExamples(clear, retainSplit, { faceNames: true }, 'the retain set')));
  }
  if (modality !== 'vision') {
    if (!tofu) throw new UserError(`modality '${modality}' needs the TOFU text configs next to the dataset (<data>/tofu); use modality: vision or add them`);
    out.forget.push(...(await requiredExamples(tofu, split, {}, 'the forget set')));
    out.retain.push(...(await requiredExamples(tofu, retainSplit, {}, 'the retain set')));
  }
  return out;
}
