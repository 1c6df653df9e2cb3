/**
 * The model seam's registry: a checkpoint directory (or the model directory holding it) loads as the kind its
 * config.json names, with every parameter as saved; a format no kind reads is a one-line UserError naming it.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { loadModel, modelKindOf } from '../../src/models/model-kinds.ts';
import { VLM_KIND, VlmModel, initPresetModel } from '../../src/models/vlm-model.ts';
import { UserError } from '../../src/util/errors.ts';

function savedModel(): { modelDir: string; saved: VlmModel } {
  const tok = Tokenizer.fromJSON(trainBpe(['a small corpus for the registry test'], { vocabSize: 280, minFrequency: 1 }));
  const saved = initPresetModel('tiny', tok, 4);
  const modelDir = mkdtempSync(join(tmpdir(), 'clearbench-kinds-'));
  saved.save(join(modelDir, 'checkpoint'), { steps: 0 });
  return { modelDir, saved };
}

describe('model kinds', () => {
  test('a model directory and its checkpoint load as the kind config.json names, parameters bit-exact', () => {
    const { modelDir, saved } = savedModel();
    for (const dir of [modelDir, join(modelDir, 'checkpoint')]) {
      const m = loadModel(dir);
      expect(m.kind).toBe(VLM_KIND);
      expect(m).toBeInstanceOf(VlmModel);
      expect((m as VlmModel).preset).toBe('tiny');
      expect(m.params.names()).toEqual(saved.params.names());
      for (const n of saved.params.names()) expect(Buffer.from(m.params.get(n).data.buffer).equals(Buffer.from(saved.params.get(n).data.buffer))).toBe(true);
      expect(m.dims).toEqual(saved.dims);
    }
  });

  test('the vision encoder is frozen by default, the decoder trains', () => {
    const { saved } = savedModel();
    expect(saved.defaultTrainable('vision.patch_embed.weight')).toBe(false);
    expect(saved.defaultTrainable('projector.fc1.weight')).toBe(true);
    expect(saved.defaultTrainable('lm.blocks.0.attn.qkv.weight')).toBe(true);
  });

  test('a format no kind reads is a UserError naming the format and the kinds', () => {
    const { modelDir } = savedModel();
    const ckpt = join(modelDir, 'checkpoint');
    const config = JSON.parse(readFileSync(join(ckpt, 'config.json'), 'utf8'));
    writeFileSync(join(ckpt, 'config.json'), JSON.stringify({ ...config, format: 'llama' }));
    expect(() => loadModel(modelDir)).toThrow(UserError);
    expect(() => modelKindOf(ckpt)).toThrow('format "llama" is not a model kind this clearbench reads (clearbench-vlm, hf-causal-lm, hf-llava)');
  });

  test('a Hugging Face config.json (architectures, no format) is the HF kind', () => {
    expect(modelKindOf(join(import.meta.dirname, '..', 'fixtures', 'hf', 'llama-mha-untied-f32')).id).toBe('hf-causal-lm');
  });

  test('a LlavaForConditionalGeneration config.json is the LLaVA kind, its vision tower frozen by default', () => {
    const dir = join(import.meta.dirname, '..', 'fixtures', 'hf', 'llava-legacy-f32');
    expect(modelKindOf(dir).id).toBe('hf-llava');
    const m = loadModel(dir);
    expect(m.defaultTrainable('model.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight')).toBe(false);
    expect(m.defaultTrainable('model.multi_modal_projector.linear_1.weight')).toBe(true);
    expect(m.defaultTrainable('model.language_model.layers.0.self_attn.q_proj.weight')).toBe(true);
  });

  test('a directory without a checkpoint gets the checkpoint loader\'s own message', () => {
    const empty = mkdtempSync(join(tmpdir(), 'clearbench-kinds-'));
    mkdirSync(join(empty, 'checkpoint'));
    expect(() => loadModel(empty)).toThrow(/model\.safetensors is missing, so .*checkpoint is not a complete checkpoint; save the model there again/);
  });
});
