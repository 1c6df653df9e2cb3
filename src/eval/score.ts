/**
 * Teacher-forced scoring: for each (question, answer, image) the per-token quantities every metric is
 * computed from — log p(answer token), whether the argmax is that token, and the mean and standard
 * deviation of log p(z) under p over the vocabulary (Min-K%++) — from one batched forward pass.
 */
import { type Graph } from '../engine/graph.ts';
import { bindParams } from '../engine/params.ts';
import { tokenLogProbs } from '../engine/losses.ts';
import { ForwardRunner } from '../models/runner.ts';
import { type LoadedModel, type ModelBatch, type Sample, shapeKey } from '../models/model.ts';
import { IGNORE_LABEL } from '../protocol/vocabulary.ts';

export interface TokenScores {
  /** log p(y_t) for each answer token (the closing <|eos|> included). */
  logProbs: number[];
  /** Whether the teacher-forced argmax equals y_t. */
  argmaxCorrect: boolean[];
  /** E_{z∼p}[log p(z)] and its standard deviation, per answer token. */
  mu: number[];
  sigma: number[];
}

export interface ScoredAnswer extends TokenScores {
  /** L̄ = mean token NLL over the answer (docs/SPEC.md §5). */
  meanNll: number;
}

/** The model an evaluation runs (model.ts). */
export type Model = LoadedModel;

function scoreGraph(model: LoadedModel, batch: ModelBatch) {
  return (g: Graph) => {
    const x = model.declareInputs(g, batch.shape);
    const targets = g.input('targets', [batch.shape.B, batch.shape.S], 'int64');
    const { logits } = model.forward(g, bindParams(g, model.params), x);
    const lsm = logits.logSoftmax(-1);
    const p = lsm.exp();
    const mu = p.mul(lsm).sum(-1);
    const var_ = p.mul(lsm.square()).sum(-1).sub(mu.square()).clip(0, 1e30);
    return {
      logp: tokenLogProbs(logits, targets),
      argmax: logits.argmax(-1),
      mu,
      sigma: var_.sqrt(),
    };
  };
}

export class Scorer {
  readonly runner: ForwardRunner;
  constructor(readonly model: Model, threads?: number, readonly batchSize = 16) {
    this.runner = new ForwardRunner(model.params, threads);
  }

  /** Score every sample's answer (samples must have answers); results are in input order. */
  async score(samples: readonly Sample[]): Promise<ScoredAnswer[]> {
    const { model } = this;
    const encoded = samples.map((s) => {
      if (s.answer === undefined) throw new Error('scoring needs an answer for every sample');
      return model.encode(s);
    });
    const out: ScoredAnswer[] = new Array(samples.length);
    // Batch samples of one modality and similar length together; order is restored at the end.
    const order = encoded.map((_, i) => i).sort((a, b) => Number(encoded[a].image === null) - Number(encoded[b].image === null) || encoded[a].ids.length - encoded[b].ids.length || a - b);
    for (let i = 0; i < order.length; ) {
      const withImage = encoded[order[i]].image !== null;
      const idx: number[] = [];
      while (i < order.length && idx.length < this.batchSize && (encoded[order[i]].image !== null) === withImage) idx.push(order[i++]);
      const batch = model.batch(idx.map((k) => encoded[k]), { padSide: 'right' });
      const r = await this.runner.run(`score:${shapeKey(batch.shape)}`, scoreGraph(model, batch), { ...batch.feeds, targets: batch.targets });
      const logp = r.logp.data as Float32Array;
      const argmax = r.argmax.data as BigInt64Array;
      const mu = r.mu.data as Float32Array;
      const sigma = r.sigma.data as Float32Array;
      const S = batch.shape.S;
      idx.forEach((k, b) => {
        const s: ScoredAnswer = { logProbs: [], argmaxCorrect: [], mu: [], sigma: [], meanNll: 0 };
        for (let t = 0; t < S; t++) {
          const y = batch.targets[b * S + t];
          if (y === BigInt(IGNORE_LABEL)) continue;
          s.logProbs.push(logp[b * S + t]);
          s.argmaxCorrect.push(argmax[b * S + t] === y);
          s.mu.push(mu[b * S + t]);
          s.sigma.push(sigma[b * S + t]);
        }
        s.meanNll = -s.logProbs.reduce((a, v) => a + v, 0) / Math.max(1, s.logProbs.length);
        out[k] = s;
      });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}
