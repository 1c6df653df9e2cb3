/**
 * Parity of LlavaForConditionalGeneration (src/models/hf/llava-*.ts, clip.ts) with an independent
 * computation: the PyTorch reference of scripts/hf-reference/make_llava_fixtures.py (written from
 * transformers' modeling_llava.py / modeling_clip.py, float64) on tiny random checkpoints in both weight
 * layouts (legacy F32 single file with vision_feature_layer −2 and the 'default' strategy; current BF16
 * sharded with −1, 'full' and tied embeddings). Logits, the exported ONNX file's logits, and LoRA gradients
 * through decoder, projector and vision tower agree within 1e-4 relative to the largest reference magnitude.
 * Also: the CLIP image processor against PIL, the `<image>` expansion, refused config keys, and saving in
 * the source's layout.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, type Tensor } from '../../../src/engine/graph.ts';
import { bindParams } from '../../../src/engine/params.ts';
import { type Feeds } from '../../../src/engine/session.ts';
import { ForwardRunner } from '../../../src/models/runner.ts';
import { loadModel } from '../../../src/models/model-kinds.ts';
import { addLora, mergeLora } from '../../../src/models/lora.ts';
import { readSafetensors, float32Of } from '../../../src/models/safetensors.ts';
import { buildExport } from '../../../src/models/export.ts';
import { LLAVA_KIND_ID, type LlavaModel, llavaParamShapes } from '../../../src/models/hf/llava-model.ts';
import { parseLlavaConfig } from '../../../src/models/hf/llava-config.ts';
import { parsePreprocessor, preprocessImage } from '../../../src/models/hf/preprocessor.ts';
import { UserError } from '../../../src/util/errors.ts';
import { IGNORE_LABEL } from '../../../src/protocol/vocabulary.ts';

import { expectLoraGradients, int64, relErr } from '../../helpers/parity.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'hf');
const NAMES = ['llava-legacy-f32', 'llava-current-bf16-sharded'];
const IMAGE_TOKEN = 258;

interface Expected {
  ids: number[][];
  image_tokens: number;
  layout: 'legacy' | 'current';
  lora: { rank: number; alpha: number; layers: string[]; targets: number[][]; loss: number };
}


/** The graph feeds of rows whose image tokens are already in place (as the chat format expands them). */
function feedsOf(ids: number[][], pixels: Float32Array): Feeds {
  const [B, S] = [ids.length, ids[0].length];
  const index = new BigInt64Array(B * S);
  const slot = new Float32Array(B * S);
  ids.forEach((row, b) => {
    let k = 0;
    row.forEach((id, t) => {
      if (id === IMAGE_TOKEN) {
        index[b * S + t] = BigInt(k++);
        slot[b * S + t] = 1;
      }
    });
  });
  return { ids: int64(ids), positions: int64(ids.map((r) => r.map((_, t) => t))), images: pixels, image_index: index, image_slot: slot };
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
  const pixels = refOf('pixel_values');

  test('loads as the LLaVA kind, in its layout', () => {
    const model = loadModel(dir) as LlavaModel;
    expect(model.kind.id).toBe(LLAVA_KIND_ID);
    expect(model.src.layout).toBe(expected.layout);
    expect(model.config.imageTokens).toBe(expected.image_tokens);
  });

  test('logits match the PyTorch reference (rel. 1e-4)', async () => {
    const model = loadModel(dir);
    const runner = new ForwardRunner(model.params, 1);
    runners.push(runner);
    const shape = { B, S, image: true };
    const out = await runner.run('full', (g: Graph) => ({ logits: model.forward(g, bindParams(g, model.params), model.declareInputs(g, shape)).logits }), feedsOf(expected.ids, pixels));
    expect(relErr(out.logits.data as Float32Array, refOf('logits'))).toBeLessThan(1e-4);
  });

  test('the exported ONNX file (input_ids, attention_mask, pixel_values → logits) gives the reference logits', async () => {
    const model = loadModel(dir);
    const exported = buildExport(model, { batch: B, seq: S, image: true });
    expect(exported.inputs).toEqual([
      { name: 'input_ids', shape: [B, S], dtype: 'int64' },
      { name: 'attention_mask', shape: [B, S], dtype: 'int64' },
      { name: 'pixel_values', shape: [B, 3, 28, 28], dtype: 'float32' },
    ]);
    expect(exported.outputs).toEqual([{ name: 'logits', shape: [B, S, model.dims.vocabSize], dtype: 'float32' }]);
    const session = await ort.InferenceSession.create(exported.bytes, { intraOpNumThreads: 1 });
    const out = await session.run({
      input_ids: new ort.Tensor('int64', int64(expected.ids), [B, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
      pixel_values: new ort.Tensor('float32', pixels, [B, 3, 28, 28]),
    });
    await session.release();
    expect(relErr(out.logits.data as Float32Array, refOf('logits'))).toBeLessThan(1e-4);
  });

  test('LoRA gradients (decoder, projector, vision tower) match PyTorch autograd (rel. 1e-4)', async () => {
    await expectLoraGradients(loadModel(dir), expected.lora, expected.lora.layers, refOf, { B, S, image: true }, feedsOf(expected.ids, pixels));
  });

  test('a LoRA-adapted model saves merged, in the source layout and names, and reloads bit-exactly', () => {
    const model = loadModel(dir) as LlavaModel;
    addLora(model.params, { rank: 2, alpha: 4, targets: ['model.language_model.layers.*.self_attn.q_proj', 'model.multi_modal_projector.linear_1'] }, 3, model.linearLayers());
    for (const e of model.params.entries()) if (e.name.endsWith('.lora_B')) e.data.fill(0.25);
    const out = join(mkdtempSync(join(tmpdir(), 'llava-save-')), 'checkpoint');
    model.save(out, { recipe: 'test' });
    const merged = mergeLora(model.params);
    const again = loadModel(out) as LlavaModel;
    expect(again.src.layout).toBe(expected.layout);
    expect(again.params.names()).toEqual(merged.names());
    for (const e of merged.entries()) expect([e.name, Buffer.from(again.params.get(e.name).data.buffer).equals(Buffer.from(e.data.buffer))]).toEqual([e.name, true]);
    const names = (d: string) => {
      const out = new Map<string, number[]>();
      const idx = join(d, 'model.safetensors.index.json');
      let files = ['model.safetensors'];
      try {
        files = [...new Set(Object.values((JSON.parse(readFileSync(idx, 'utf8')) as { weight_map: Record<string, string> }).weight_map))];
      } catch { /* single file */ }
      for (const f of files) for (const [n, t] of readSafetensors(join(d, f)).tensors) out.set(n, t.shape);
      return out;
    };
    const source = names(dir);
    const saved = names(out);
    expect([...saved.keys()].sort()).toEqual([...source.keys()].sort());
    for (const [n, shape] of source) expect([n, saved.get(n)]).toEqual([n, shape]);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg.architectures).toEqual(['LlavaForConditionalGeneration']);
    expect(cfg.clearbench).toEqual({ training: { recipe: 'test' } });
    expect([cfg.torch_dtype, (cfg.text_config as Record<string, unknown>).torch_dtype]).toEqual(['float32', 'float32']);
    for (const f of ['preprocessor_config.json', 'chat_template.json']) expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(dir, f), 'utf8'));
  });
});

describe('the chat format', () => {
  const model = loadModel(join(FIXTURES, 'llava-legacy-f32')) as LlavaModel;
  const N = model.config.imageTokens;

  test('<image> expands to the image features\' tokens, as LlavaProcessor expands it, and carries no labels', () => {
    const image = new Float32Array(3 * 28 * 28);
    const s = model.encode({ question: 'Who?', answer: 'Ann', image });
    const at = s.ids.indexOf(IMAGE_TOKEN);
    expect(s.imageAt).toBe(at);
    expect(s.ids.filter((id) => id === IMAGE_TOKEN).length).toBe(N);
    expect(s.ids.slice(at, at + N)).toEqual(new Array(N).fill(IMAGE_TOKEN));
    for (let k = 0; k < N; k++) expect(s.labels[at + k]).toBe(IGNORE_LABEL);
    // llava-1.5's template: "USER: <image>\nWho? ASSISTANT: Ann " — the answer then </s>, labelled.
    const text = model.tokenizer.decode(s.ids.filter((id) => id !== IMAGE_TOKEN));
    expect(text).toContain('USER: \nWho? ASSISTANT: Ann');
    const labelled = s.labels.filter((x) => x !== IGNORE_LABEL);
    expect(labelled).toEqual([...model.tokenizer.encode('Ann'), model.tokenizer.special.eos]);
    const t = model.encode({ question: 'Who?', answer: 'Ann', image: null });
    expect(t.ids).not.toContain(IMAGE_TOKEN);
    const b = model.batch([s, model.encode({ question: 'Where is it?', answer: 'Here', image })], { padSide: 'left' });
    const slot = b.feeds.image_slot as Float32Array;
    expect(slot.reduce((a, x) => a + x, 0)).toBe(2 * N);
  });

  test('a Llama tokenizer\'s add_bos_token puts <s> first, as the processor\'s tokenizer call does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llava-bos-'));
    cpSync(join(FIXTURES, 'llava-legacy-f32'), dir, { recursive: true });
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tc, add_bos_token: true }));
    const withBos = loadModel(dir) as LlavaModel;
    const s = withBos.encode({ question: 'Who?', image: new Float32Array(3 * 28 * 28) });
    expect(s.ids[0]).toBe(withBos.tokenizer.tokenToId('<s>'));
    expect(s.ids.slice(1)).toEqual(model.encode({ question: 'Who?', image: new Float32Array(3 * 28 * 28) }).ids);
  });
});

describe('the CLIP image processor', () => {
  const dir = join(FIXTURES, 'clip-preprocessor');
  const ref = readSafetensors(join(dir, 'expected.safetensors')).tensors;
  const p = parsePreprocessor(JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json', 28);

  test('without resampling (shortest edge already the size) it matches transformers exactly: crop, rescale, normalise', async () => {
    const got = await preprocessImage(readFileSync(join(dir, 'exact-28x35.png')), p);
    const want = float32Of(ref.get('exact-28x35.png')!);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  test('resizing the shortest edge (sharp\'s bicubic against PIL\'s) stays within one or two grey levels', async () => {
    const got = await preprocessImage(readFileSync(join(dir, 'resize-40x30.png')), p);
    const want = float32Of(ref.get('resize-40x30.png')!);
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]) * 0.27 * 255; // back to 8-bit levels (std ≈ 0.27)
      worst = Math.max(worst, d);
      sum += d;
    }
    // Measured: at most 1.0 level, 0.3 on average.
    expect(sum / want.length).toBeLessThan(0.5);
    expect(worst).toBeLessThan(2);
  });

  test.each([
    [{ size: { height: 28, width: 28 } }, /size .* is not supported/],
    [{ resample: 1 }, /resample 1 is not supported/],
    [{ crop_size: { height: 32, width: 32 } }, /centre-crop to the vision tower's 28×28/],
    [{ do_pad: true }, /key "do_pad" is not supported/],
  ])('%j is refused with one line', (patch, message) => {
    const raw = { ...(JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as object), ...patch };
    expect(() => parsePreprocessor(raw, 'preprocessor_config.json', 28)).toThrow(message);
  });
});

describe('config.json', () => {
  const base = () => JSON.parse(readFileSync(join(FIXTURES, 'llava-legacy-f32', 'config.json'), 'utf8')) as Record<string, unknown>;

  test('llava-1.5-7b-hf\'s config (a sparse text_config and vision_config) parses with transformers\' defaults', () => {
    const c = parseLlavaConfig({
      architectures: ['LlavaForConditionalGeneration'], ignore_index: -100, image_token_index: 32000, model_type: 'llava', pad_token_id: 32001,
      projector_hidden_act: 'gelu', text_config: { _name_or_path: 'lmsys/vicuna-7b-v1.5', architectures: ['LlamaForCausalLM'], max_position_embeddings: 4096, model_type: 'llama', rms_norm_eps: 1e-5, torch_dtype: 'float16', vocab_size: 32064 },
      tie_word_embeddings: false, torch_dtype: 'float16', transformers_version: '4.36.0.dev0',
      vision_config: { hidden_size: 1024, image_size: 336, intermediate_size: 4096, model_type: 'clip_vision_model', num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14, projection_dim: 768, vocab_size: 32000 },
      vision_feature_layer: -2, vision_feature_select_strategy: 'default', vocab_size: 32064,
    }, 'config.json');
    expect([c.text.hidden, c.text.layers, c.text.heads, c.text.intermediate, c.text.vocabSize, c.text.tied]).toEqual([4096, 32, 32, 11008, 32064, false]);
    expect([c.vision.act, c.featureLayer, c.imageTokens, c.imageTokenId]).toEqual(['quick_gelu', 23, 576, 32000]);
    // llava-1.5-7b has 7,063,427,072 parameters; the forward reads all but CLIP's last layer (12,596,224) and post_layernorm (2,048).
    const read = llavaParamShapes(c).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(read).toBe(7_063_427_072 - 12_596_224 - 2_048);
  });

  test.each([
    [{ vision_feature_layer: [-2, -5] }, /vision_feature_layer = \[-2,-5\] is not supported/],
    [{ vision_feature_select_strategy: 'cls' }, /vision_feature_select_strategy = "cls" is not supported/],
    [{ projector_hidden_act: 'relu' }, /projector_hidden_act = "relu" is not supported/],
    [{ vision_config: { model_type: 'siglip_vision_model' } }, /only the CLIP vision tower/],
    [{ image_seq_length: 576 }, /image_seq_length 576 differs from the 4 image tokens/],
    [{ multimodal_projector_layers: 3 }, /config key "multimodal_projector_layers" is not supported/],
    [{ text_config: { model_type: 'mistral' } }, /text_config: model_type "mistral" is not supported/],
  ])('%j is refused with one line', (patch, message) => {
    let err: unknown;
    try {
      parseLlavaConfig({ ...base(), ...patch }, 'config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});
