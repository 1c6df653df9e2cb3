/**
 * End-to-end training: a small causal transformer learns a deterministic sequence task through the whole
 * stack (builder → autodiff → ONNX → onnxruntime → SIMD AdamW).
 */
import { expect, test } from '@jest/globals';
import { type Graph } from '../../src/engine/graph.ts';
import { ParamStore, bindParams } from '../../src/engine/params.ts';
import { Trainer } from '../../src/engine/step.ts';
import { type CausalLMConfig, causalLMForward, initCausalLM } from '../../src/models/causal-lm.ts';

test('a 2-layer causal LM learns to continue an arithmetic sequence (loss < 0.05)', async () => {
  // Task: each row counts upward by a row-specific stride mod V; predicting token t+1 needs the
  // stride, i.e. attention to the previous token. A uniform guess scores ln(32) ≈ 3.47.
  const cfg: CausalLMConfig = { vocabSize: 32, dModel: 32, layers: 2, heads: 2, mlpRatio: 4, maxSeq: 12, norm: 'layernorm' };
  const B = 8, T = 12;
  const store = new ParamStore();
  initCausalLM(store, cfg, 3);
  const trainer = await Trainer.create(store, { optimizer: { type: 'adamw', lr: 3e-3, weightDecay: 0 }, maxGradNorm: 1, threads: 1 });
  const ids = new BigInt64Array(B * T);
  const labels = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    const stride = 1 + (b % 4);
    const start = (b * 5) % cfg.vocabSize;
    for (let i = 0; i < T; i++) {
      ids[b * T + i] = BigInt((start + stride * i) % cfg.vocabSize);
      labels[b * T + i] = BigInt((start + stride * (i + 1)) % cfg.vocabSize);
    }
  }
  const build = (g: Graph) => {
    const x = g.input('ids', [B, T], 'int64');
    const y = g.input('labels', [B, T], 'int64');
    const { logits } = causalLMForward(g, bindParams(g, store), cfg, x);
    // Skip position 0: its stride is not yet observable.
    const nll = logits.slice([1], [T], [1]).logSoftmax(-1).gatherElements(y.slice([1], [T], [1]).unsqueeze(-1), -1).neg();
    return { loss: nll.mean() };
  };
  let first = 0, last = 0;
  for (let s = 0; s < 300; s++) {
    const r = await trainer.run('toy', build, { ids, labels });
    if (s === 0) first = r.loss;
    last = r.loss;
  }
  expect(first).toBeGreaterThan(3);
  expect(last).toBeLessThan(0.05);
});

test('training is deterministic: same seed, data and threads give bit-identical parameters', async () => {
  const cfg: CausalLMConfig = { vocabSize: 16, dModel: 16, layers: 1, heads: 2, mlpRatio: 2, maxSeq: 6, norm: 'rmsnorm' };
  const run = async () => {
    const store = new ParamStore();
    initCausalLM(store, cfg, 11);
    const trainer = await Trainer.create(store, { optimizer: { type: 'adamw', lr: 1e-2 }, threads: 2 });
    const ids = BigInt64Array.from({ length: 12 }, (_, i) => BigInt((i * 5) % 16));
    const build = (g: Graph) => {
      const x = g.input('ids', [2, 6], 'int64');
      const { logits } = causalLMForward(g, bindParams(g, store), cfg, x);
      return { loss: logits.logSoftmax(-1).gatherElements(x.unsqueeze(-1), -1).neg().mean() };
    };
    for (let s = 0; s < 5; s++) await trainer.run('d', build, { ids });
    return store.entries().map((e) => Array.from(e.data));
  };
  expect(await run()).toEqual(await run());
});
