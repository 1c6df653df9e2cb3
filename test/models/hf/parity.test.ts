/**
 * Parity of the Hugging Face decoders (src/models/hf/) with an independent computation: the PyTorch
 * reference of scripts/hf-reference/make_fixtures.py (written from transformers' modeling_llama.py and
 * modeling_qwen2.py, float64), on the tiny random checkpoints it wrote to test/fixtures/hf/ — GQA and not,
 * tied and not, BF16 / F16 / F32, sharded and single-file, llama3 rope scaling, Qwen2's q/k/v biases and
 * Llama's attention_bias. Logits and LoRA gradients must agree within 1e-4 relative to the largest
 * reference magnitude of each tensor.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph, type Tensor } from '../../../src/engine/graph.ts';
import { bindParams } from '../../../src/engine/params.ts';
import { ForwardRunner } from '../../../src/models/runner.ts';
import { loadModel } from '../../../src/models/model-kinds.ts';
import { readSafetensors, float32Of } from '../../../src/models/safetensors.ts';
import { HF_KIND_ID } from '../../../src/models/hf/hf-model.ts';
import { buildExport } from '../../../src/models/export.ts';
import * as ort from 'onnxruntime-node';

import { expectLoraGradients, int64, relErr } from '../../helpers/parity.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'hf');
const NAMES = ['llama-gqa-tied-bf16-sharded', 'llama-mha-untied-f32', 'qwen2-gqa-untied-f32', 'qwen2-tied-f16-sharded'];

interface Expected {
  ids: number[][];
  padded: { ids: number[][]; positions: number[][]; key_mask: number[][] };
  lora: { rank: number; alpha: number; layers: string[]; targets: number[][]; loss: number };
}


const runners: ForwardRunner[] = [];
afterAll(async () => {
  for (const r of runners) await r.release();
});

describe.each(NAMES)('%s', (name) => {
  const dir = join(FIXTURES, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const ref = readSafetensors(join(dir, 'expected.safetensors')).tensors;
  const refOf = (n: string) => float32Of(ref.get(n)!);
  const [B, S] = [expected.ids.length, expected.ids[0].length];
  const positions = int64(expected.ids.map((row) => row.map((_, t) => t)));

  test('loads as the Hugging Face kind', () => {
    expect(loadModel(dir).kind.id).toBe(HF_KIND_ID);
  });

  test('logits match the PyTorch reference (rel. 1e-4)', async () => {
    const model = loadModel(dir);
    const runner = new ForwardRunner(model.params, 1);
    runners.push(runner);
    const shape = { B, S, image: false };
    const out = await runner.run('full', (g: Graph) => ({ logits: model.forward(g, bindParams(g, model.params), model.declareInputs(g, shape)).logits }),
      { ids: int64(expected.ids), positions });
    const logits = out.logits.data as Float32Array;
    const want = refOf('logits');
    expect(relErr(logits, want)).toBeLessThan(1e-4);
  });

  test('left-padded rows (key mask, positions from the first real token) match on their real tokens', async () => {
    const model = loadModel(dir);
    const runner = new ForwardRunner(model.params, 1);
    runners.push(runner);
    const p = expected.padded;
    const shape = { B, S, image: false, keyMask: true };
    const out = await runner.run('padded', (g: Graph) => ({ logits: model.forward(g, bindParams(g, model.params), model.declareInputs(g, shape)).logits }),
      { ids: int64(p.ids), positions: int64(p.positions), key_mask: Float32Array.from(p.key_mask.flat()) });
    const logits = out.logits.data as Float32Array;
    const want = refOf('padded_logits');
    const V = logits.length / (B * S);
    const real = (a: Float32Array) => p.key_mask.flat().flatMap((m, i) => (m ? Array.from(a.subarray(i * V, (i + 1) * V)) : []));
    expect(relErr(real(logits), real(want))).toBeLessThan(1e-4);
  });

  test('the exported portable ONNX file (standard ops, weights inline) gives the reference logits', async () => {
    const model = loadModel(dir);
    const exported = buildExport(model, { batch: B, seq: S, image: false });
    const session = await ort.InferenceSession.create(exported.bytes, { intraOpNumThreads: 1 });
    const out = await session.run({
      ids: new ort.Tensor('int64', int64(expected.ids), [B, S]),
      positions: new ort.Tensor('int64', positions, [B, S]),
      key_mask: new ort.Tensor('float32', new Float32Array(B * S).fill(1), [B, S]),
    });
    await session.release();
    expect(relErr(out.logits.data as Float32Array, refOf('logits'))).toBeLessThan(1e-4);
  });

  test('LoRA gradients (PEFT-style adapters on q_proj, v_proj, down_proj) match PyTorch autograd (rel. 1e-4)', async () => {
    const patterns = ['model.layers.*.self_attn.q_proj', 'model.layers.*.self_attn.v_proj', 'model.layers.*.mlp.down_proj'];
    await expectLoraGradients(loadModel(dir), expected.lora, patterns, refOf, { B, S, image: false }, { ids: int64(expected.ids), positions });
  });
});
