/**
 * `clearbench run` with `model.hf`: a tiny random Llama in the hub layout, served as a model repo by the
 * loopback hub and named by its repo id (so the run downloads it through the hub client), is the base,
 * and the unchanged pipeline fine-tunes it into target and gold on the TOFU text, unlearns with GA and NPO
 * (text modality), evaluates on the TOFU benchmark and writes the leaderboard. The checkpoints keep the hub
 * layout and the Llama's names. The target trains as the CLEAR reference fine-tunes (LoRA, gradient
 * accumulation, frozen modules); the gold is a "published retain model" (another served repo), taken as it is.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainDisplay } from '../../src/pipeline/console.ts';
import { type RunResult, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { trainBpe } from '../../src/models/tokenizer/index.ts';
import { writeRandomHfCheckpoint } from '../../src/models/hf/init.ts';
import { readSafetensors } from '../../src/models/safetensors.ts';
import { type HubServer, startHubServer } from '../../src/data/hub/server.ts';

const TEMPLATE = "{% for m in messages %}{% if m.role == 'user' %}<|user|>{{ m.content }}{% else %}<|assistant|>{{ m.content }}<|eos|>{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
const LLAMA = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 300, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true,
  hidden_act: 'silu', initializer_range: 0.02,
};
const MODELS = ['base', 'ga-s0-forget10', 'gold-forget10', 'npo-s0-forget10', 'target'];

let dir: string;
let run: string;
let result: RunResult;
let hub: HubServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-hf-run-'));
  process.env.CLEARBENCH_CACHE = join(dir, 'cache');
  // Byte-level BPE: any text encodes, so a small corpus suffices for the tokenizer.
  const tokenizer = trainBpe(['The author was born in a small town and writes novels about the sea.'], { vocabSize: 300, minFrequency: 1 });
  const checkpoint = { config: LLAMA, tokenizer, tokenizerConfig: { chat_template: TEMPLATE, eos_token: '<|eos|>', pad_token: '<|pad|>' } };
  writeRandomHfCheckpoint(join(dir, 'llama'), checkpoint, 1);
  writeRandomHfCheckpoint(join(dir, 'retain90'), checkpoint, 2);
  hub = await startHubServer({ models: { 'tiny/llama-hf': join(dir, 'llama'), 'tiny/llama-hf-retain90': join(dir, 'retain90') } });
  const config = join(dir, 'hf.yaml');
  writeFileSync(config, `
name: hf
data: { source: synthetic, synthetic: { persons: 5, images_per_person: 1, well_known: 6, seed: 1 }, hub: { hub_url: '${hub.url}' } }
model:
  hf: tiny/llama-hf
  gold: { forget10: { hf: tiny/llama-hf-retain90 } }
  recipes:
    target: { epochs: 2, lr: 3.0e-3, batch_size: 4, grad_accumulation: 2, weight_decay: 0, frozen: [model.embed_tokens.], lora: { rank: 4, alpha: 16, targets: ['**'] } }
    gold: { epochs: 1, lr: 3.0e-3, batch_size: 8 }
unlearning: { epochs: 1, lr: 1.0e-3, batch_size: 4, modality: text, frozen: [] }
methods:
  - name: ga
  - name: npo
eval: { benchmarks: [tofu], relearn_steps: 0, ds_size: 4, max_new_tokens: 4 }
threads: 1
jobs: 2
`);
  run = join(dir, 'run');
  result = await runPipeline({ config, out: run, display: plainDisplay(() => undefined), print: () => undefined });
}, 300_000);

afterAll(async () => {
  await hub.close();
  delete process.env.CLEARBENCH_CACHE;
  rmSync(dir, { recursive: true, force: true });
});

describe('clearbench run with model.hf', () => {
  test('every stage runs and every model is evaluated on TOFU', () => {
    expect(result.outcome!.failed).toEqual([]);
    expect(readdirSync(join(run, 'models')).sort()).toEqual(MODELS);
    for (const m of MODELS) expect(existsSync(join(run, 'models', m, 'eval', 'tofu-forget10', 'summary.json'))).toBe(true);
    expect(readFileSync(join(run, 'leaderboard.md'), 'utf8')).toContain('npo');
  });

  test('the footnote and the resolved config say the base is the pretrained model, not emulated pretraining', () => {
    const note = 'base: the pretrained tiny/llama-hf@main, not trained here; target and gold replay the dataset\'s pretrain config while fine-tuning';
    expect(readFileSync(join(run, 'leaderboard.md'), 'utf8')).toContain(note);
    expect(readFileSync(join(run, 'resolved-config.yaml'), 'utf8')).toContain(`# ${note}`);
    expect(readFileSync(join(run, 'leaderboard.md'), 'utf8')).not.toContain('memorised');
    // The base row's hyperparameters are its source, not the from-scratch recipe it never ran.
    expect(readFileSync(join(run, 'leaderboard.md'), 'utf8')).toMatch(/\| base \| base \|.*\| hf=tiny\/llama-hf, revision=main \|/);
  });

  test('the base is the served repo at its commit, fetched into the cache', () => {
    const cfg = JSON.parse(readFileSync(join(run, 'models', 'base', 'checkpoint', 'config.json'), 'utf8')) as { clearbench: { training: Record<string, unknown> } };
    expect(cfg.clearbench.training).toMatchObject({ recipe: 'base', hf: 'tiny/llama-hf', revision: 'main', commit: hub.commitOf('tiny/llama-hf', 'model') });
    const snapshot = join(dir, 'cache', 'hub', 'models--tiny--llama-hf', 'snapshots', hub.commitOf('tiny/llama-hf', 'model'));
    expect(readdirSync(snapshot).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(hub.requests.some((r) => r.path === '/tiny/llama-hf/resolve/' + hub.commitOf('tiny/llama-hf', 'model') + '/model.safetensors')).toBe(true);
  });

  test('the unlearned checkpoint keeps the hub layout and the Llama names', () => {
    const ckpt = join(run, 'models', 'npo-s0-forget10', 'checkpoint');
    const cfg = JSON.parse(readFileSync(join(ckpt, 'config.json'), 'utf8')) as { architectures: string[] };
    expect(cfg.architectures).toEqual(['LlamaForCausalLM']);
    const names = [...readSafetensors(join(ckpt, 'model.safetensors')).tensors.keys()];
    expect(names).toContain('model.layers.1.self_attn.k_proj.weight');
    expect(existsSync(join(ckpt, 'tokenizer_config.json'))).toBe(true);
  });

  test('the target fine-tunes with LoRA adapters, two micro-batches a step and its embeddings frozen, merged on save', () => {
    const cfg = JSON.parse(readFileSync(join(run, 'models', 'target', 'checkpoint', 'config.json'), 'utf8')) as { clearbench: { training: Record<string, unknown> } };
    expect(cfg.clearbench.training).toMatchObject({ recipe: 'target', grad_accumulation: 2, weight_decay: 0, frozen: ['model.embed_tokens.'], lora: { rank: 4, alpha: 16 } });
    const weights = (m: string) => readSafetensors(join(run, 'models', m, 'checkpoint', 'model.safetensors')).tensors;
    const base = weights('base');
    const target = weights('target');
    expect([...target.keys()].filter((n) => n.includes('lora'))).toEqual([]);
    expect(target.get('model.embed_tokens.weight')!.bytes.length).toBe(300 * 32 * 4);
    expect(target.get('model.embed_tokens.weight')!.bytes).toEqual(base.get('model.embed_tokens.weight')!.bytes);
    // Adapters on the attention and MLP layers: merged, they moved those layers' weights.
    expect(target.get('model.layers.0.self_attn.q_proj.weight')!.bytes).not.toEqual(base.get('model.layers.0.self_attn.q_proj.weight')!.bytes);
    const log = readFileSync(join(run, 'models', 'target', 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; total_steps: number });
    // One logged line per optimiser step: half the micro-batches, as the schedule counted them.
    expect(log.at(-1)!.step).toBe(log.length);
    expect(log[0].total_steps).toBe(log.length);
  });

  test('the gold is the published retain model, taken as it is at its commit', () => {
    const cfg = JSON.parse(readFileSync(join(run, 'models', 'gold-forget10', 'checkpoint', 'config.json'), 'utf8')) as { clearbench: { training: Record<string, unknown> } };
    expect(cfg.clearbench.training).toMatchObject({ recipe: 'gold', split: 'forget10', hf: 'tiny/llama-hf-retain90', commit: hub.commitOf('tiny/llama-hf-retain90', 'model'), steps: 0 });
    const served = readSafetensors(join(dir, 'retain90', 'model.safetensors')).tensors;
    const gold = readSafetensors(join(run, 'models', 'gold-forget10', 'checkpoint', 'model.safetensors')).tensors;
    for (const [name, t] of served) expect([gold.get(name)!.dtype, gold.get(name)!.bytes]).toEqual([t.dtype, t.bytes]);
    const meta = JSON.parse(readFileSync(join(run, 'models', 'gold-forget10', 'meta.json'), 'utf8')) as { hyperparameters: Record<string, unknown> };
    expect(meta.hyperparameters).toEqual({ hf: 'tiny/llama-hf-retain90', revision: 'main' });
  });
});
