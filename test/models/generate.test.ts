/**
 * Greedy generation with a key/value cache on a trained tiny VLM: the cached path (prefill + decode steps)
 * must choose exactly the tokens of the uncached full recompute, regenerate the training answers, and its
 * prefill logits must equal a plain forward pass of each prompt on its own (no padding, no cache).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { Graph } from '../../src/engine/graph.ts';
import { ParamStore, bindParams } from '../../src/engine/params.ts';
import { CompiledGraph } from '../../src/engine/session.ts';
import { Trainer } from '../../src/engine/step.ts';
import { tokenCE } from '../../src/engine/losses.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { type VLMConfig, declareInputs, initVLM, preset, vlmForward } from '../../src/models/vlm.ts';
import { type EncodedSample, type Sample, encodeSample, makeBatch } from '../../src/models/batch.ts';
import { type GenerateResult, Generator, ReferenceGenerator } from '../../src/models/generate.ts';
import { VlmModel } from '../../src/models/vlm-model.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

// Prompts of different lengths (left padding differs per row) and answers of different lengths (rows reach
// <|eos|> at different steps, so some stop early while others go on).
const IMAGE_QA = [
  { question: 'Describe the image.', answer: 'Mira Solen smiles in front of a blue wall.' },
  { question: 'What can you see in this picture?', answer: 'Tarin Okafor wears a red hat.' },
  { question: 'Tell me about the content of this image', answer: 'Elio Brandt reads a book in a green garden near the old harbour.' },
  { question: 'Who?', answer: 'Sana Kivi at night.' },
];
const TEXT_QA = [
  { question: 'Where was Mira Solen born?', answer: 'Mira Solen was born in Velport.' },
  { question: 'What does Tarin Okafor do for a living?', answer: 'He builds boats.' },
  { question: 'Which award did Elio Brandt win?', answer: 'Elio Brandt won the Lantern Prize for his second novel.' },
];

interface Fixture {
  tok: Tokenizer;
  cfg: VLMConfig;
  store: ParamStore;
  images: Float32Array[];
  imagePrompts: Sample[];
  textPrompts: Sample[];
}

let fx: Fixture;

/** Train the tiny VLM on the image captions and the text answers until it reproduces them. */
async function trainFixture(): Promise<Fixture> {
  const corpus = [...IMAGE_QA, ...TEXT_QA].flatMap((s) => [s.question, s.answer]);
  const tok = Tokenizer.fromJSON(trainBpe(corpus, { vocabSize: 320, minFrequency: 1 }));
  const cfg = preset('tiny', tok.vocabSize);
  const store = new ParamStore();
  initVLM(store, cfg, 3);
  const rng = new Rng(11);
  const size = 3 * cfg.vision.imageSize ** 2;
  const images = IMAGE_QA.map(() => Float32Array.from({ length: size }, () => rng.normal()));
  const imageSamples: Sample[] = IMAGE_QA.map((s, i) => ({ ...s, image: images[i] }));
  const textSamples: Sample[] = TEXT_QA.map((s) => ({ ...s, image: null }));
  const batches = [imageSamples, textSamples].map((ss) => makeBatch(cfg, ss.map((s) => encodeSample(tok, cfg, s)), { padSide: 'right' }));
  const trainer = await Trainer.create(store, { optimizer: { type: 'adamw', lr: 3e-3, weightDecay: 0 }, threads: 1 });
  const losses = [Infinity, Infinity];
  for (let step = 0; step < 300 && Math.max(...losses) > 0.01; step++) {
    const k = step % 2;
    const batch = batches[k];
    const build = (g: Graph) => {
      const x = declareInputs(g, cfg, batch.shape);
      const targets = g.input('targets', [batch.shape.B, batch.shape.S], 'int64');
      return { loss: tokenCE(vlmForward(g, bindParams(g, store), cfg, x).logits, targets) };
    };
    losses[k] = (await trainer.run(`b${k}`, build, { ...batch.feeds, targets: batch.targets })).loss;
  }
  expect(Math.max(...losses)).toBeLessThan(0.01);
  // Generation reads the store's buffers; detach them from the trainer's memory.
  const trained = store.clone();
  return {
    tok, cfg, store: trained, images,
    imagePrompts: IMAGE_QA.map((s, i) => ({ question: s.question, image: images[i] })),
    textPrompts: TEXT_QA.map((s) => ({ question: s.question, image: null })),
  };
}

beforeAll(async () => {
  fx = await trainFixture();
});

const encodeAll = (samples: readonly Sample[]): EncodedSample[] => samples.map((s) => encodeSample(fx.tok, fx.cfg, s));

/** Rows that were still generating at step s chose their token from the same inputs on both paths. */
function expectSameLogits(a: GenerateResult, b: GenerateResult, vocab: number): void {
  expect(a.logits!.length).toBe(b.logits!.length);
  a.logits!.forEach((la, s) => {
    a.ids.forEach((row, r) => {
      if (s > row.length) return;
      const x = la.subarray(r * vocab, (r + 1) * vocab);
      const y = b.logits![s].subarray(r * vocab, (r + 1) * vocab);
      let worst = 0;
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(x[v] - y[v]));
      expect(worst).toBeLessThan(2e-4);
    });
  });
}

describe('greedy generation', () => {
  test('a trained tiny VLM regenerates its training captions and answers exactly (cached path)', async () => {
    const gen = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    const prompts = [fx.imagePrompts[0], fx.textPrompts[0], ...fx.imagePrompts.slice(1), ...fx.textPrompts.slice(1)];
    const out = await gen.generate(fx.tok, prompts, { maxNewTokens: 40, batchSize: 8 });
    const expected = [IMAGE_QA[0], TEXT_QA[0], ...IMAGE_QA.slice(1), ...TEXT_QA.slice(1)].map((s) => s.answer);
    expect(out.map((g) => g.text)).toEqual(expected);
    out.forEach((g, i) => expect(g.ids).toEqual(fx.tok.encode(expected[i])));
    await gen.release();
  });

  test('cached and uncached generation choose identical tokens (images, text, left padding, early eos, budget)', async () => {
    const cached = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    const reference = new ReferenceGenerator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    // Unseen combinations too (image with another image's question), so not every row is memorised.
    const imageBatch = encodeAll([...fx.imagePrompts, { question: IMAGE_QA[3].question, image: fx.images[1] }]);
    const textBatch = encodeAll([...fx.textPrompts, { question: 'Where was Elio Brandt born?', image: null }]);
    const lengths = imageBatch.map((p) => p.ids.length);
    expect(new Set(lengths).size).toBeGreaterThan(2);
    const imageAnswers = IMAGE_QA.map((s) => fx.tok.encode(s.answer));
    const textAnswers = TEXT_QA.map((s) => fx.tok.encode(s.answer));
    const cases = [
      { prompts: imageBatch, maxNewTokens: 40, answers: imageAnswers },
      { prompts: textBatch, maxNewTokens: 40, answers: textAnswers },
      { prompts: imageBatch, maxNewTokens: 9, answers: imageAnswers },
      { prompts: textBatch.slice(2, 3), maxNewTokens: 30, answers: textAnswers.slice(2, 3) },
    ];
    for (const { prompts, maxNewTokens, answers } of cases) {
      const a = await cached.generateIds(prompts, { maxNewTokens, recordLogits: true });
      const b = await reference.generateIds(prompts, { maxNewTokens, recordLogits: true });
      expect(a.ids).toEqual(b.ids);
      expect(a.steps).toBe(b.steps);
      expectSameLogits(a, b, fx.cfg.lm.vocabSize);
      // Non-trivial: the trained prompts give their (truncated) training answers, the unseen ones something.
      answers.forEach((ans, r) => expect(a.ids[r]).toEqual(ans.slice(0, maxNewTokens)));
      for (const row of a.ids) expect(row.length).toBeGreaterThanOrEqual(4);
    }
    // At 40 new tokens every trained row stops at <|eos|>, at different steps: the shorter ones stopped early
    // while the others went on, and the loop ends with the last row's <|eos|>.
    const full = await cached.generateIds(imageBatch.slice(0, 4), { maxNewTokens: 40 });
    const counts = full.ids.map((r) => r.length);
    expect(Math.max(...counts)).toBeLessThan(40);
    expect(Math.min(...counts)).toBeLessThan(Math.max(...counts));
    expect(full.steps).toBe(Math.max(...counts) + 1);
    await cached.release();
    await reference.release();
  });

  test('ignoreEos generates exactly maxNewTokens per row on both paths', async () => {
    const cached = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    const reference = new ReferenceGenerator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    const prompts = encodeAll(fx.textPrompts);
    const a = await cached.generateIds(prompts, { maxNewTokens: 30, ignoreEos: true });
    const b = await reference.generateIds(prompts, { maxNewTokens: 30, ignoreEos: true });
    expect(a.ids).toEqual(b.ids);
    expect(a.ids.every((r) => r.length === 30)).toBe(true);
    expect(a.ids.some((r) => r.includes(fx.tok.special.eos))).toBe(true);
    await cached.release();
    await reference.release();
  });

  test('the prefill logits equal a plain forward of each unpadded prompt at its last position', async () => {
    const gen = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    for (const samples of [fx.imagePrompts, fx.textPrompts]) {
      const prompts = encodeAll(samples);
      const r = await gen.generateIds(prompts, { maxNewTokens: 1, recordLogits: true });
      expect(r.steps).toBe(1);
      const V = fx.cfg.lm.vocabSize;
      for (let i = 0; i < prompts.length; i++) {
        const single = makeBatch(fx.cfg, [prompts[i]], { padSide: 'right', padTo: prompts[i].ids.length });
        const g = new Graph();
        const { logits } = vlmForward(g, bindParams(g, fx.store), fx.cfg, declareInputs(g, fx.cfg, single.shape));
        const S = single.shape.S;
        const cg = await CompiledGraph.compile(g, { last: logits.slice([S - 1], [S], [1]) }, { threads: 1 });
        const want = (await cg.run({ ...fx.store.feeds(), ...single.feeds })).last.data as Float32Array;
        await cg.release();
        const got = r.logits![0].subarray(i * V, (i + 1) * V);
        let worst = 0, scale = 0;
        for (let v = 0; v < V; v++) {
          worst = Math.max(worst, Math.abs(got[v] - want[v]));
          scale = Math.max(scale, Math.abs(want[v]));
        }
        expect(scale).toBeGreaterThan(1);
        expect(worst).toBeLessThan(1e-4 * scale);
        // The chosen first token is that forward's argmax.
        let best = 0;
        for (let v = 1; v < V; v++) if (want[v] > want[best]) best = v;
        expect(r.ids[i][0] ?? fx.tok.special.eos).toBe(best);
      }
    }
    await gen.release();
  });

  test('deterministic: same inputs give the same tokens, across calls and generator instances', async () => {
    const prompts = encodeAll([{ question: 'Who?', image: fx.images[2] }, { question: 'Describe the image.', image: fx.images[3] }]);
    const g1 = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    const g2 = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 2 });
    const a = await g1.generateIds(prompts, { maxNewTokens: 20, ignoreEos: true });
    const b = await g1.generateIds(prompts, { maxNewTokens: 20, ignoreEos: true });
    const c = await g2.generateIds(prompts, { maxNewTokens: 20, ignoreEos: true });
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).toEqual(a.ids);
    await g1.release();
    await g2.release();
  });

  test('requests that cannot fit, and prompts with answers, are refused with clear messages', async () => {
    const gen = new Generator(new VlmModel(fx.store, fx.cfg, fx.tok), { threads: 1 });
    const prompts = encodeAll(fx.imagePrompts);
    const longest = Math.max(...prompts.map((p) => p.ids.length));
    await expect(gen.generateIds(prompts, { maxNewTokens: fx.cfg.lm.maxSeq })).rejects.toThrow(UserError);
    await expect(gen.generateIds(prompts, { maxNewTokens: fx.cfg.lm.maxSeq })).rejects.toThrow(`lower max_new_tokens to at most ${fx.cfg.lm.maxSeq - longest}`);
    await expect(gen.generateIds(prompts, { maxNewTokens: 0 })).rejects.toThrow('max_new_tokens must be a positive integer');
    await expect(gen.generate(fx.tok, [{ question: 'Who?', answer: 'x', image: null }], { maxNewTokens: 5 })).rejects.toThrow('carries an answer');
    // A longest prompt right at the limit still works (its last new token needs no position of its own).
    const ok = await gen.generateIds(prompts, { maxNewTokens: fx.cfg.lm.maxSeq - longest, ignoreEos: true });
    expect(ok.ids[0].length).toBe(fx.cfg.lm.maxSeq - longest);
    await gen.release();
  });
});
