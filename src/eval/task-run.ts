/**
 * Running a model on one task's samples: one batched teacher-forced Scorer call over every answer
 * (ground truth, paraphrase, perturbed) and greedy generation with the KV cache, each timed.
 */
import { type Sample } from '../models/model.ts';
import { type BaseGenerator } from '../models/generate.ts';
import { type Model, type ScoredAnswer, type Scorer } from './score.ts';
import { type TaskSpec } from './benchmark.ts';
import { type EvalItem } from './task-data.ts';
import { type ScoredTask } from './task-metrics.ts';

/** docs/SPEC.md §4: generation budget for real models; the tiny models' prompts leave less room. */
export const DEFAULT_MAX_NEW_TOKENS = 300;

/** Wall time spent in teacher-forced scoring and in generation (seconds, summed over calls). */
export class EvalTimer {
  scoring_s = 0;
  generation_s = 0;

  async time<T>(what: 'scoring_s' | 'generation_s', run: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      this[what] += (performance.now() - t0) / 1000;
    }
  }
}

/** Whether the task scores the paraphrase separately (FaceRec and the real tasks reuse the ground truth). */
export function hasOwnParaphrase(task: Pick<TaskSpec, 'groundTruth' | 'paraphrase'>): boolean {
  return task.paraphrase !== task.groundTruth;
}

/** Score every answer of every item in one batched call; results regrouped per item. */
export async function scoreTask(scorer: Scorer, task: TaskSpec, items: readonly EvalItem[], timer: EvalTimer): Promise<ScoredTask & { gt: ScoredAnswer[] }> {
  const ownPara = hasOwnParaphrase(task);
  const samples: Sample[] = [];
  const at: { gt: number; para: number; pert: number }[] = [];
  for (const it of items) {
    const q = { question: it.question, image: it.image };
    const gt = samples.push({ ...q, answer: it.groundTruth }) - 1;
    const para = ownPara ? samples.push({ ...q, answer: it.paraphrase }) - 1 : gt;
    const pert = samples.length;
    for (const p of it.perturbed) samples.push({ ...q, answer: p });
    at.push({ gt, para, pert });
  }
  const scored = await timer.time('scoring_s', () => scorer.score(samples));
  return {
    gt: at.map((a) => scored[a.gt]),
    losses: at.map((a, i) => ({
      gtLoss: scored[a.gt].meanNll,
      paraLoss: scored[a.para].meanNll,
      pertLosses: items[i].perturbed.map((_, j) => scored[a.pert + j].meanNll),
    })),
    gtHits: at.map((a) => scored[a.gt].argmaxCorrect),
  };
}

/** Score only the ground truths (membership-inference holdout). */
export async function scoreGroundTruths(scorer: Scorer, items: readonly EvalItem[], timer: EvalTimer): Promise<ScoredAnswer[]> {
  return timer.time('scoring_s', () => scorer.score(items.map((it) => ({ question: it.question, image: it.image, answer: it.groundTruth }))));
}

/** The default budget of a task: 300 tokens, or what the longest prompt leaves of the model's positions. */
export function defaultMaxNewTokens(model: Model, items: readonly EvalItem[]): number {
  const longest = Math.max(...items.map((it) => model.encode({ question: it.question, image: it.image }).ids.length));
  return Math.max(1, Math.min(DEFAULT_MAX_NEW_TOKENS, model.dims.maxSeq - longest));
}

/** Greedy generations (image in the input, stop at <|eos|>) for every item, in item order. */
export async function generateTask(
  generator: BaseGenerator,
  model: Model,
  items: readonly EvalItem[],
  opts: { maxNewTokens?: number; batchSize: number },
  timer: EvalTimer,
): Promise<{ texts: string[]; maxNewTokens: number }> {
  const maxNewTokens = opts.maxNewTokens ?? defaultMaxNewTokens(model, items);
  const prompts: Sample[] = items.map((it) => ({ question: it.question, image: it.image }));
  const out = await timer.time('generation_s', () => generator.generate(model.tokenizer, prompts, { maxNewTokens, batchSize: opts.batchSize }));
  return { texts: out.map((g) => g.text), maxNewTokens };
}
