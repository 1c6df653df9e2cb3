/**
 * The batched teacher-forced Scorer against an independent computation: each sample run on its own
 * (batch of one, no padding) through a graph that returns the full logits, then a float64 log-softmax in
 * plain TypeScript gives log p(answer token), the argmax, and the mean and standard deviation of log p
 * over the vocabulary. The Scorer runs the same samples padded, mixed in length and modality, several
 * batches, out of order.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { Graph } from '../../src/engine/graph.ts';
import { ParamStore, bindParams } from '../../src/engine/params.ts';
import { CompiledGraph } from '../../src/engine/session.ts';
import { Trainer } from '../../src/engine/step.ts';
import { tokenCE } from '../../src/engine/losses.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { type VLMConfig, declareInputs, initVLM, preset, vlmForward } from '../../src/models/vlm.ts';
import { type Sample, encodeSample, makeBatch } from '../../src/models/batch.ts';
import { Scorer } from '../../src/eval/score.ts';
import { VlmModel } from '../../src/models/vlm-model.ts';
import { Rng } from '../../src/util/rng.ts';

const TEXTS = [
  { question: 'Describe the image.', answer: 'Mira Solen smiles in front of a blue wall.' },
  { question: 'Who is it?', answer: 'Tarin Okafor.' },
  { question: 'What can you see in this picture?', answer: 'Elio Brandt reads a book in a green garden near the old harbour.' },
  { question: 'Where was Mira Solen born?', answer: 'Mira Solen was born in Velport.' },
  { question: 'What does Tarin Okafor do?', answer: 'He builds boats.' },
];

interface Expected {
  logProbs: number[];
  argmaxCorrect: boolean[];
  mu: number[];
  sigma: number[];
}

let tok: Tokenizer;
let cfg: VLMConfig;
let store: ParamStore;
let samples: Sample[];

beforeAll(async () => {
  tok = Tokenizer.fromJSON(trainBpe(TEXTS.flatMap((t) => [t.question, t.answer]), { vocabSize: 300, minFrequency: 1 }));
  cfg = preset('tiny', tok.vocabSize);
  store = new ParamStore();
  initVLM(store, cfg, 5);
  const rng = new Rng(9);
  const size = 3 * cfg.vision.imageSize ** 2;
  const image = () => Float32Array.from({ length: size }, () => rng.normal());
  // Three image samples and three text-only ones, lengths all different.
  samples = [
    { ...TEXTS[0], image: image() },
    { ...TEXTS[3], image: null },
    { ...TEXTS[1], image: image() },
    { ...TEXTS[4], image: null },
    { ...TEXTS[2], image: image() },
    { question: TEXTS[2].question, answer: TEXTS[0].answer, image: null },
  ];
  // A few training steps so that some argmax predictions are right and the distributions are not flat.
  const batch = makeBatch(cfg, samples.filter((s) => s.image).map((s) => encodeSample(tok, cfg, s)), { padSide: 'right' });
  const trainer = await Trainer.create(store, { optimizer: { type: 'adamw', lr: 3e-3, weightDecay: 0 }, threads: 1 });
  const build = (g: Graph) => {
    const x = declareInputs(g, cfg, batch.shape);
    const targets = g.input('targets', [batch.shape.B, batch.shape.S], 'int64');
    return { loss: tokenCE(vlmForward(g, bindParams(g, store), cfg, x).logits, targets) };
  };
  for (let s = 0; s < 40; s++) await trainer.run('b', build, { ...batch.feeds, targets: batch.targets });
  store = store.clone();
});

/** One sample alone: full logits of an unpadded forward pass, then a float64 log-softmax in TypeScript. */
async function independent(s: Sample): Promise<Expected> {
  const enc = encodeSample(tok, cfg, s);
  const S = enc.ids.length;
  const one = makeBatch(cfg, [enc], { padSide: 'right', padTo: S });
  const g = new Graph();
  const x = declareInputs(g, cfg, one.shape);
  const compiled = await CompiledGraph.compile(g, { logits: vlmForward(g, bindParams(g, store), cfg, x).logits }, { threads: 1 });
  const logits = (await compiled.run({ ...store.feeds(), ...one.feeds })).logits.data as Float32Array;
  await compiled.release();
  const V = cfg.lm.vocabSize;
  // The answer tokens are the answer's own encoding plus <|eos|>, at the end of the sequence.
  const answer = [...tok.encode(s.answer!), tok.special.eos];
  const start = S - answer.length;
  expect(enc.ids.slice(start)).toEqual(answer);
  const out: Expected = { logProbs: [], argmaxCorrect: [], mu: [], sigma: [] };
  answer.forEach((y, k) => {
    const row = Array.from(logits.subarray((start + k - 1) * V, (start + k) * V), Number); // predicts position start + k
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    const lsm = row.map((v) => v - lse);
    const p = lsm.map(Math.exp);
    const mu = p.reduce((a, pv, i) => a + pv * lsm[i], 0);
    const second = p.reduce((a, pv, i) => a + pv * lsm[i] * lsm[i], 0);
    out.logProbs.push(lsm[y]);
    out.argmaxCorrect.push(row.indexOf(max) === y);
    out.mu.push(mu);
    out.sigma.push(Math.sqrt(Math.max(second - mu * mu, 0)));
  });
  return out;
}

describe('Scorer', () => {
  test('batched, padded scores equal a per-sample forward pass with a TypeScript log-softmax', async () => {
    const scorer = new Scorer(new VlmModel(store, cfg, tok), 1, 2);
    const got = await scorer.score(samples);
    await scorer.release();
    let correct = 0;
    for (let i = 0; i < samples.length; i++) {
      const want = await independent(samples[i]);
      const g = got[i];
      expect(g.logProbs.length).toBe(want.logProbs.length);
      g.logProbs.forEach((v, t) => expect(Math.abs(v - want.logProbs[t])).toBeLessThan(1e-4));
      g.mu.forEach((v, t) => expect(Math.abs(v - want.mu[t])).toBeLessThan(1e-4));
      g.sigma.forEach((v, t) => expect(Math.abs(v - want.sigma[t])).toBeLessThan(1e-3));
      expect(g.argmaxCorrect).toEqual(want.argmaxCorrect);
      const meanNll = -want.logProbs.reduce((a, v) => a + v, 0) / want.logProbs.length;
      expect(Math.abs(g.meanNll - meanNll)).toBeLessThan(1e-5);
      correct += want.argmaxCorrect.filter(Boolean).length;
    }
    // The comparison covers both outcomes of the argmax check.
    expect(correct).toBeGreaterThan(0);
    expect(correct).toBeLessThan(got.reduce((a, s) => a + s.argmaxCorrect.length, 0));
  });

  test('a sample without an answer is refused', async () => {
    const scorer = new Scorer(new VlmModel(store, cfg, tok), 1);
    await expect(scorer.score([{ question: 'Who?', image: null }])).rejects.toThrow(/answer/);
    await scorer.release();
  });
});
