/**
 * The Hugging Face model kind beyond the forward pass: config keys it refuses, saving in the source's layout
 * and names (reloads bit-exactly, LoRA merged), text-only refusals, and cached generation against the
 * uncached full recompute (ReferenceGenerator) on a GQA fixture.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../../src/models/model-kinds.ts';
import { parseHfConfig } from '../../../src/models/hf/config.ts';
import { HfCausalLM } from '../../../src/models/hf/hf-model.ts';
import { addLora, mergeLora } from '../../../src/models/lora.ts';
import { readSafetensors } from '../../../src/models/safetensors.ts';
import { readHubWeights } from '../../../src/models/hf/weights.ts';
import { Generator, ReferenceGenerator } from '../../../src/models/generate.ts';
import { UserError } from '../../../src/util/errors.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'hf');
const fixture = (name: string) => join(FIXTURES, name);
const baseConfig = () => JSON.parse(readFileSync(join(fixture('llama-gqa-tied-bf16-sharded'), 'config.json'), 'utf8')) as Record<string, unknown>;

describe('config.json', () => {
  test('the fixtures parse, with head_dim, GQA and llama3 rope scaling read', () => {
    const c = parseHfConfig(baseConfig(), 'config.json');
    expect([c.heads, c.kvHeads, c.headDim, c.tied, c.qkvBias]).toEqual([4, 2, 12, true, false]);
    expect(c.ropeScaling?.factor).toBe(8);
  });

  test.each([
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" is not supported/],
    [{ hidden_act: 'gelu' }, /hidden_act = "gelu" is not supported/],
    [{ mlp_bias: true }, /mlp_bias = true is not supported/],
    [{ attention_dropout: 0.1 }, /attention_dropout = 0.1 is not supported/],
    [{ pretraining_tp: 2 }, /pretraining_tp/],
    [{ some_new_option: 1 }, /config key "some_new_option" is not supported/],
    [{ architectures: ['MistralForCausalLM'] }, /is not supported \(this clearbench implements/],
    [{ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads/],
  ])('%j is refused with one line', (patch, message) => {
    const err = (() => {
      try {
        parseHfConfig({ ...baseConfig(), ...patch }, 'config.json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  test('Qwen2 with sliding-window attention is refused', () => {
    const q = JSON.parse(readFileSync(join(fixture('qwen2-gqa-untied-f32'), 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(() => parseHfConfig({ ...q, use_sliding_window: true }, 'config.json')).toThrow(/sliding-window attention is not implemented/);
  });
});

describe('saving', () => {
  test('a LoRA-adapted model saves merged, in the source names and layout, and reloads bit-exactly', () => {
    const model = loadModel(fixture('qwen2-gqa-untied-f32')) as HfCausalLM;
    addLora(model.params, { rank: 2, alpha: 4, targets: ['model.layers.*.self_attn.q_proj'] }, 3, model.linearLayers());
    for (const e of model.params.entries()) if (e.name.endsWith('.lora_B')) e.data.fill(0.25);
    const dir = join(mkdtempSync(join(tmpdir(), 'hf-save-')), 'checkpoint');
    model.save(dir, { recipe: 'test' });
    const merged = mergeLora(model.params);
    const again = loadModel(dir);
    expect(again.params.names()).toEqual(merged.names());
    for (const e of merged.entries()) expect([e.name, Buffer.from(again.params.get(e.name).data.buffer).equals(Buffer.from(e.data.buffer))]).toEqual([e.name, true]);
    // The hub's names and shapes ([out, in]), as the source file holds them.
    const source = readSafetensors(join(fixture('qwen2-gqa-untied-f32'), 'model.safetensors')).tensors;
    const saved = readSafetensors(join(dir, 'model.safetensors')).tensors;
    expect([...saved.keys()].sort()).toEqual([...source.keys()].sort());
    for (const [name, t] of source) expect([name, saved.get(name)!.shape]).toEqual([name, t.shape]);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg.architectures).toEqual(['Qwen2ForCausalLM']);
    expect(cfg.clearbench).toEqual({ training: { recipe: 'test' } });
    expect(existsSync(join(dir, 'tokenizer_config.json'))).toBe(true);
  });

  test('an unmodified BF16 sharded checkpoint saves as F32 with the same values', () => {
    const src = fixture('llama-gqa-tied-bf16-sharded');
    const dir = join(mkdtempSync(join(tmpdir(), 'hf-save-')), 'checkpoint');
    loadModel(src).save(dir);
    const a = readHubWeights(src);
    const b = readHubWeights(dir);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, t] of a) {
      expect(b.get(name)!.dtype).toBe('F32');
      expect([name, Buffer.from(b.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))]).toEqual([name, true]);
    }
  });

  test('weights missing from the checkpoint are named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-bad-'));
    cpSync(fixture('llama-mha-untied-f32'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    expect(() => loadModel(dir)).toThrow(/lack model\.layers\.2\./);
  });
});

describe('text only', () => {
  test('image samples are refused', () => {
    const model = loadModel(fixture('llama-mha-untied-f32'));
    expect(() => model.encode({ question: 'q', answer: 'a', image: new Float32Array(3) })).toThrow(/text-only model/);
  });
});

describe('generation', () => {
  const gens: { release?: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const g of gens) await g.release?.();
  });

  test.each(['llama-gqa-tied-bf16-sharded', 'qwen2-gqa-untied-f32'])('%s: the cached decode step chooses the tokens and logits of the full recompute', async (name) => {
    const model = loadModel(fixture(name));
    const prompts = ['Hi there', 'What is the capital of France?', 'x'].map((q) => model.encode({ question: q, image: null }));
    const cached = new Generator(model, { threads: 1 });
    const reference = new ReferenceGenerator(model, { threads: 1 });
    gens.push(cached as never, reference as never);
    const a = await cached.generateIds(prompts, { maxNewTokens: 8, ignoreEos: true, recordLogits: true });
    const b = await reference.generateIds(prompts, { maxNewTokens: 8, ignoreEos: true, recordLogits: true });
    expect(a.ids).toEqual(b.ids);
    for (let s = 0; s < a.logits!.length; s++) {
      let d = 0;
      let m = 0;
      a.logits![s].forEach((v, i) => {
        d = Math.max(d, Math.abs(v - b.logits![s][i]));
        m = Math.max(m, Math.abs(b.logits![s][i]));
      });
      expect(d / m).toBeLessThan(1e-4);
    }
  });
});
