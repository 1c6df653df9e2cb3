/**
 * The per-step data of unlearning: forget batches (one modality each, shuffled per epoch) and, aligned
 * sample by sample, the other streams a method asks for (docs/SPEC.md §6: each forget sample is paired with a
 * retain sample drawn uniformly, seeded).
 */
import { IDK_ANSWERS } from '../../datasets/idk.ts';
import { type Example, questionFor } from '../train/examples.ts';
import { epochBatches } from '../train/loop.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { type MultiDrawStream, type StreamName } from './api.ts';

export interface StreamSample {
  question: string;
  answer: string;
  image: Example['image'];
}

export type StepSamples = Partial<Record<StreamName, StreamSample[]>>;

/**
 * Batch indices of one pass over `examples` (epochBatches' order: one modality per batch), or exactly `steps` batches: the first
 * ones of the shuffled order, or, for more, that order followed by freshly shuffled ones.
 */
export function passBatches(examples: readonly Example[], batchSize: number, rng: Rng, steps?: number): number[][] {
  const out = epochBatches(examples, batchSize, rng);
  if (steps === undefined) return out;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`a pass's steps must be a non-negative integer, got ${steps}`);
  while (out.length < steps && out.length > 0) out.push(...epochBatches(examples, batchSize, rng));
  return out.slice(0, steps);
}

/** The 'retain' stream of a pass over the retain set: the batch's retain samples themselves. */
export function retainPassSamples(batch: readonly number[], retain: readonly Example[], seed: number, epoch: number): StepSamples {
  // Offset 2e6: caption questions drawn apart from those of the forget (i) and paired retain (1e6 + i) samples.
  return { retain: batch.map((i) => ({ question: questionFor(retain[i], seed, epoch, 2_000_000 + i), answer: retain[i].answer, image: retain[i].image })) };
}

/**
 * `k` indices into a pool of `n`: `first`, then k − 1 more from `rng`, all distinct while the pool allows
 * (LLMU and SKU sample their random answers without replacement).
 */
function drawDistinct(first: number, n: number, k: number, rng: Rng): number[] {
  const out = [first];
  const seen = new Set(out);
  while (out.length < k) {
    const j = rng.int(n);
    if (seen.has(j) && seen.size < n) continue;
    seen.add(j);
    out.push(j);
  }
  return out;
}

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
  draws: Partial<Record<MultiDrawStream, number>> = {},
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
    const otherAt = pool.length ? rng.int(pool.length) : -1;
    const other = otherAt >= 0 ? pool[otherAt] : null;
    const idk = IDK_ANSWERS[rng.int(IDK_ANSWERS.length)];
    // Another person's answer to the same kind of prompt (text QA prompts name their person, so any).
    const candidates = forget.filter(
      (e) => (e.image !== null) === (f.image !== null) && e.answer !== f.answer && (!e.person || e.person !== f.person) && (e.question === f.question || f.image === null),
    );
    const altAt = candidates.length ? rng.int(candidates.length) : -1;
    const alt = altAt >= 0 ? candidates[altAt] : null;
    const need = (cond: unknown, stream: StreamName, what: string) => {
      if (!cond) throw new UserError(`the '${stream}' stream needs ${what}, but forget sample ${i} has none; use a larger forget split or another modality`);
    };
    if (out.forget) out.forget.push({ question, answer: f.answer, image: f.image });
    if (out.retain) {
      need(paired, 'retain', 'a retain sample of the same modality');
      out.retain.push({ question: questionFor(paired!, seed, epoch, i + 1_000_000), answer: paired!.answer, image: paired!.image });
    }
    if (out.idk) out.idk.push({ question, answer: idk, image: f.image });
    // Further draws come from a stream of their own per stream, so a draw count of 1 leaves every stream as it
    // was and no stream's draws depend on another's count.
    const extra = (stream: MultiDrawStream) => Rng.derive(seed, `unlearn/${epoch}/${i}/${stream}`);
    if (out.retain_answer) {
      need(other, 'retain_answer', 'a retain sample of the same modality');
      for (const j of drawDistinct(otherAt, pool.length, draws.retain_answer ?? 1, extra('retain_answer'))) out.retain_answer.push({ question, answer: pool[j].answer, image: f.image });
    }
    if (out.forget_other) {
      need(alt, 'forget_other', 'another forget person with the same kind of question');
      for (const j of drawDistinct(altAt, candidates.length, draws.forget_other ?? 1, extra('forget_other'))) out.forget_other.push({ question, answer: candidates[j].answer, image: f.image });
    }
  }
  return out;
}
