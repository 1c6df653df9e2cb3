/**
 * The training-throughput benchmark runs both models: the standard LM and a VLM preset on an image
 * batch whose image tokens count as tokens. Speed is the benchmark's business; this checks the set-up.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchTrain } from '../../src/bench/train.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/hf/llama-mha-untied-f32');

describe('benchTrain', () => {
  it('trains the tiny VLM on a 4×24 image batch, counting its 16 image tokens', async () => {
    const r = await benchTrain({ model: 'tiny', batch: 4, seq: 24, steps: 3, warmup: 1, threads: 1 });
    expect(r.model_name).toBe('tiny');
    expect(r.image_tokens).toBe(16);
    expect(r.tokens_per_s).toBeCloseTo((4 * 24) / (r.step_ms / 1000), 6);
    expect(Number.isFinite(r.first_loss) && Number.isFinite(r.last_loss)).toBe(true);
    expect(r.last_loss).toBeLessThan(r.first_loss); // 4 steps of AdamW at 1e-3 on one fixed batch
  });

  it('refuses a sequence with no room for text after the image tokens', async () => {
    await expect(benchTrain({ model: 'tiny', batch: 2, seq: 16, steps: 1, warmup: 0, threads: 1 })).rejects.toThrow(/leaves no text after the 16 image tokens/);
  });

  // Hand count for the fixture (vocab 264, hidden 32, MLP 48, 2 layers, MHA, attention_bias, untied):
  // embed + lm_head 2·264·32 = 16,896, final norm 32; per layer q,k,v,o 4·32·32 = 4,096 + their biases 4·32 = 128,
  // gate/up/down 3·32·48 = 4,608, two norms 64 → 8,896; total 16,928 + 2·8,896 = 34,720.
  it('times a Hugging Face checkpoint directory with its own weights', async () => {
    const r = await benchTrain({ modelDir: FIXTURE, batch: 2, seq: 16, steps: 3, warmup: 1, threads: 1 });
    expect(r.model_name).toBe('LlamaForCausalLM');
    expect(r.random_weights).toBe(false);
    expect(r.params).toBe(34_720);
    expect(r.trainable_params).toBe(34_720);
    expect(r.lora_rank).toBeNull();
    expect(r.last_loss).toBeLessThan(r.first_loss);
  });

  // LoRA r 4 on q,k,v,o (4·4·(32+32) = 1,024) and gate/up/down (3·4·(32+48) = 960) per layer: 2·1,984 = 3,968 trained.
  it('trains only LoRA adapters with --lora, counting them apart from the model', async () => {
    const r = await benchTrain({ modelDir: FIXTURE, batch: 2, seq: 16, steps: 3, warmup: 1, threads: 1, lora: 4 });
    expect(r.params).toBe(34_720);
    expect(r.trainable_params).toBe(3_968);
    expect(r.lora_rank).toBe(4);
    expect(Number.isFinite(r.last_loss)).toBe(true);
  });

  it('a directory holding only config.json trains random weights of its architecture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-hf-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 300, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu',
    }));
    const r = await benchTrain({ modelDir: dir, batch: 2, seq: 16, steps: 2, warmup: 1, threads: 1 });
    expect(r.model_name).toBe('Qwen2ForCausalLM');
    expect(r.random_weights).toBe(true);
    // embed 300·32 + norm 32; q 32·32 + k,v 2·32·16 + o 32·32 = 3,072, q/k/v biases 32 + 16 + 16 = 64; MLP 3·32·64 = 6,144; norms 64.
    expect(r.params).toBe(9_600 + 32 + 3_072 + 64 + 6_144 + 64);
  });

  it('times a LLaVA checkpoint directory (image tokens first, the vision tower frozen), full and LoRA', async () => {
    const dir = join(import.meta.dirname, '../fixtures/hf/llava-legacy-f32');
    const r = await benchTrain({ modelDir: dir, batch: 2, seq: 16, steps: 3, warmup: 1, threads: 1 });
    expect(r.model_name).toBe('LlavaForConditionalGeneration');
    expect(r.random_weights).toBe(false);
    expect(r.image_tokens).toBe(4);
    // CLIP layer 0 (the one the feature layer −2 reads of two): 2 LNs 64 + q,k,v,out 4·(16·16 + 16) + fc1/fc2 2·16·32 + 32 + 16;
    // embeddings 3·14·14·16 + 16 + 5·16 and pre_layrnorm 32 — frozen, so the trained count leaves them out.
    const vision = 64 + 4 * 272 + 1024 + 48 + 9408 + 16 + 80 + 32;
    expect(r.params - r.trainable_params).toBe(vision);
    expect(r.last_loss).toBeLessThan(r.first_loss);
    const lora = await benchTrain({ modelDir: dir, batch: 2, seq: 16, steps: 2, warmup: 1, threads: 1, lora: 2 });
    expect(Number.isFinite(lora.last_loss)).toBe(true);
    await expect(benchTrain({ modelDir: dir, batch: 1, seq: 4, steps: 1, warmup: 0, threads: 1 })).rejects.toThrow(/--seq 4 leaves no text after the 4 image tokens/);
  });

  it('refuses a sequence longer than the model has positions', async () => {
    await expect(benchTrain({ modelDir: FIXTURE, batch: 1, seq: 128, steps: 1, warmup: 0, threads: 1 })).rejects.toThrow(/--seq 128 is longer than LlamaForCausalLM's 64 positions/);
  });
});
