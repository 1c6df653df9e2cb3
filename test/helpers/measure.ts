/** Teacher-forced measurements of a tiny target on a set of examples, for the methods' direction tests. */
import { Scorer } from '../../src/eval/score.ts';
import { questionFor, type Example } from '../../src/train/examples.ts';
import { type ImageTensors } from '../../src/train/examples.ts';
import { type LoadedModel } from '../../src/models/model.ts';

export interface SetScores {
  /** Mean over examples of the mean answer-token NLL (L̄). */
  meanNll: number;
  /** Mean over all answer tokens of p(y_t). */
  tokenProb: number;
}

/** Scores every example with a fixed question (seed 0, epoch 0), so two calls compare like with like. */
export async function measure(t: { model: LoadedModel; images: ImageTensors }, examples: readonly Example[]): Promise<SetScores> {
  const sc = new Scorer(t.model, 1);
  try {
    const r = await sc.score(examples.map((e, i) => ({ question: questionFor(e, 0, 0, i), answer: e.answer, image: e.image ? t.images.get(e.image)! : null })));
    const probs = r.flatMap((x) => x.logProbs.map(Math.exp));
    return { meanNll: r.reduce((a, x) => a + x.meanNll, 0) / r.length, tokenProb: probs.reduce((a, p) => a + p, 0) / probs.length };
  } finally {
    await sc.release();
  }
}
