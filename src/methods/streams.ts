/**
 * The per-step data of unlearning: forget batches (one modality each, shuffled per epoch) and, aligned
 * sample by sample, the other streams a method asks for (docs/SPEC.md §6: each forget sample is paired with a
 * retain sample drawn uniformly, seeded).
 */
import { IDK_ANSWERS } from '../../datasets/idk.ts';
import { type Example, questionFor } from '../train/examples.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { type StreamName } from './api.ts';

export interface StreamSample {
  question: string;
  answer: string;
  image: Example['image'];
}

export type StepSamples = Partial<Record<StreamName, StreamSample[]>>;

/**
 * The samples of every requested stream for one forget batch. Draws depend only on (seed, epoch,
 * forget index), so they do not change with the set of streams or the batch order.
 */
export function stepSamples(
  batch: readonly number[],
  forget: readonly Example[],
  retain: readonly Example[],
  streams: readonly StreamName[],
  seed: number,
  epoch: number,
): StepSamples {
  const byModality = (pool: readonly Example[], image: boolean) => pool.filter((e) => (e.image !== null) === image);
  const retainImg = byModality(retain, true);
  const retainTxt = byModality(retain, false);
  const out: StepSamples = {};
  for (const s of streams) out[s] = [];
  for (const i of batch) {
    const f = forget[i];
    const rng = Rng.derive(seed, `unlearn/${epoch}/${i}`);
    const question = questionFor(f, seed, epoch, i);
    const pool = f.image ? retainImg : retainTxt;
    const paired = pool.length ? pool[rng.int(pool.length)] : null;
    const other = pool.length ? pool[rng.int(pool.length)] : null;
    const idk = IDK_ANSWERS[rng.int(IDK_ANSWERS.length)];
    // Another person's answer to the same kind of prompt (text QA prompts name their person, so any).
    const candidates = forget.filter(
      (e) => (e.image !== null) === (f.image !== null) && e.answer !== f.answer && (!e.person || e.person !== f.person) && (e.question === f.question || f.image === null),
    );
    const alt = candidates.length ? candidates[rng.int(candidates.length)] : null;
    const need = (cond: unknown, stream: StreamName, what: string) => {
      if (!cond) throw new UserError(`the '${stream}' stream needs ${what}, but forget sample ${i} has none; use a larger forget split or another modality`);
    };
    if (out.forget) out.forget.push({ question, answer: f.answer, image: f.image });
    if (out.retain) {
      need(paired, 'retain', 'a retain sample of the same modality');
      out.retain.push({ question: questionFor(paired!, seed, epoch, i + 1_000_000), answer: paired!.answer, image: paired!.image });
    }
    if (out.idk) out.idk.push({ question, answer: idk, image: f.image });
    if (out.retain_answer) {
      need(other, 'retain_answer', 'a retain sample of the same modality');
      out.retain_answer.push({ question, answer: other!.answer, image: f.image });
    }
    if (out.forget_other) {
      need(alt, 'forget_other', 'another forget person with the same kind of question');
      out.forget_other.push({ question, answer: alt!.answer, image: f.image });
    }
  }
  return out;
}
