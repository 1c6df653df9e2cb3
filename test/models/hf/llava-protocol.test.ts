/**
 * A tiny random LLaVA (CLIP 28 px / patch 14, Llama decoder; hub layout written by src/models/hf/init.ts, a
 * typed-content chat template with its <image> token) through the protocol on both modalities: fine-tune
 * on CLEAR's captions, face names and QA (the loss falls), unlearn with every method of the registry (each
 * trains, its loss finite; GA and NPO raise the forget loss; RMU steers the decoder's hidden states), then
 * evaluate on the CLEAR benchmark (image tasks) and the TOFU one, saving and reloading between stages.
 * Then `clearbench run` with the LLaVA as model.hf: target fine-tuned as the CLEAR reference does (LoRA,
 * gradient accumulation, weight decay, the vision tower frozen), gold, GA / NPO / RMU on both modalities,
 * the CLEAR benchmark, the leaderboard.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../../src/data/dataset.ts';
import { trainBpe } from '../../../src/models/tokenizer/index.ts';
import { SPECIAL_IDS } from '../../../src/models/tokenizer/special-tokens.ts';
import { tokenizerCorpus } from '../../../src/train/recipes.ts';
import { unlearningData } from '../../../src/methods/data.ts';
import { MethodRegistry } from '../../../src/methods/registry.ts';
import { type Example, type ImageTensors, prepareImages } from '../../../src/train/examples.ts';
import { trainLoop } from '../../../src/train/loop.ts';
import { unlearn } from '../../../src/methods/unlearn.ts';
import { evaluate } from '../../../src/eval/evaluate.ts';
import { getBenchmark } from '../../../benchmarks/index.ts';
import { loadModel } from '../../../src/models/model-kinds.ts';
import { writeRandomLlavaCheckpoint } from '../../../src/models/hf/init.ts';
import { LLAVA_KIND_ID } from '../../../src/models/hf/llava-model.ts';
import { type LoadedModel } from '../../../src/models/model.ts';
import { readSafetensors } from '../../../src/models/safetensors.ts';
import { plainDisplay } from '../../../src/pipeline/console.ts';
import { runPipeline } from '../../../src/pipeline/run-pipeline.ts';
import { measure } from '../../helpers/measure.ts';

export const LLAVA_TEMPLATE = "{% for m in messages %}{% if m.role == 'user' %}<|user|>{% for c in m.content %}{% if c.type == 'image' %}<|image|>{% else %}{{ c.text }}{% endif %}{% endfor %}"
  + "{% else %}<|assistant|>{% for c in m.content %}{{ c.text }}{% endfor %}<|eos|>{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

/** A tiny LLaVA config.json over a vocabulary of `vocab` whose `<|image|>` is the image token. */
export function tinyLlavaConfig(vocab: number): Record<string, unknown> {
  return {
    architectures: ['LlavaForConditionalGeneration'], model_type: 'llava', image_token_index: SPECIAL_IDS.image, projector_hidden_act: 'gelu',
    vision_feature_layer: -2, vision_feature_select_strategy: 'default', initializer_range: 0.05,
    vision_config: { model_type: 'clip_vision_model', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, image_size: 28, patch_size: 14, hidden_act: 'quick_gelu' },
    text_config: {
      model_type: 'llama', vocab_size: vocab, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      max_position_embeddings: 256, rms_norm_eps: 1e-5, tie_word_embeddings: true,
    },
  };
}

let root: string;
let dataDir: string;
let forget: Example[];
let retain: Example[];
let images: ImageTensors;
let targetDir: string;
const losses: number[] = [];

const forgetNll = async (model: LoadedModel) => (await measure({ model, images }, forget)).meanNll;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clearbench-llava-protocol-'));
  dataDir = join(root, 'data');
  await generateSynthetic({ outDir: dataDir, persons: 4, imagesPerPerson: 1, wellKnown: 6, seed: 3 });
  const clear = await openClear(dataDir);
  const tofu = await openTofu(join(dataDir, 'tofu'));
  const tokenizer = trainBpe(await tokenizerCorpus({ clear, tofu }), { vocabSize: 400 });
  const split = await unlearningData(clear, tofu, 'forget10', 'joint', { faceNames: true });
  // Two forget persons, so SKU's forget_other stream (another forget person's answer) has one to draw.
  const person = split.retain.find((e) => e.person)!.person!;
  const moved = split.retain.filter((e) => e.person === person || (!e.image && e.question.includes(person)));
  forget = [...split.forget, ...moved];
  retain = split.retain.filter((e) => !moved.includes(e));
  const base = writeRandomLlavaCheckpoint(join(root, 'base'), {
    config: tinyLlavaConfig(400), tokenizer,
    tokenizerConfig: { chat_template: LLAVA_TEMPLATE, eos_token: '<|eos|>', pad_token: '<|pad|>' },
  }, 1);
  const all = [...forget, ...retain];
  images = await prepareImages(base, all);
  await trainLoop(base, all, images, {
    epochs: 6, batchSize: 8, seed: 1,
    optimizer: { optimizer: { type: 'adamw', lr: 1e-2, weightDecay: 0 }, maxGradNorm: 1, threads: 1 },
    onStep: (s) => losses.push(s.loss),
  });
  targetDir = join(root, 'target', 'checkpoint');
  base.save(targetDir, { recipe: 'test-target' });
}, 120_000);

describe('a tiny random LLaVA through fine-tune → unlearn → evaluate', () => {
  test('it loads as the LLaVA kind, and fine-tuning on images and text lowers the loss', () => {
    expect(loadModel(targetDir).kind.id).toBe(LLAVA_KIND_ID);
    expect(forget.some((e) => e.image) && forget.some((e) => !e.image)).toBe(true);
    const head = losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const tail = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(tail).toBeLessThan(head * 0.8);
  });

  test('every registered method unlearns it (finite losses, the decoder moves, the vision tower stays frozen); GA and NPO raise the forget loss', async () => {
    const registry = await MethodRegistry.discover();
    const ran: string[] = [];
    for (const { def } of registry.entries()) {
      const model = loadModel(targetDir);
      const before = ['ga', 'npo'].includes(def.name) ? await forgetNll(model) : 0;
      const start = model.params.clone();
      const stepLosses: number[] = [];
      await unlearn({
        method: def, model, forget, retain, images, epochs: def.name === 'ga' || def.name === 'npo' ? 2 : 1, batchSize: 4, seed: 0,
        optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 }, onStep: (s) => stepLosses.push(s.loss),
      });
      expect([def.name, stepLosses.length > 0 && stepLosses.every(Number.isFinite)]).toEqual([def.name, true]);
      const moved = (n: string) => !Buffer.from(model.params.get(n).data.buffer).equals(Buffer.from(start.get(n).data.buffer));
      expect([def.name, moved('model.language_model.layers.0.mlp.down_proj.weight')]).toEqual([def.name, true]);
      expect([def.name, moved('model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight')]).toEqual([def.name, false]);
      if (def.name === 'ga' || def.name === 'npo') expect(await forgetNll(model)).toBeGreaterThan(before + 0.1);
      if (def.name === 'ga') model.save(join(root, 'ga', 'checkpoint'), { method: 'ga' });
      ran.push(def.name);
    }
    expect(ran).toEqual(expect.arrayContaining(['ga', 'npo', 'rmu']));
  }, 240_000);

  test('the unlearned model saves, reloads and evaluates on the CLEAR (image) and TOFU benchmarks', async () => {
    const model = join(root, 'ga', 'checkpoint');
    for (const benchmark of ['clear', 'tofu']) {
      const evalDir = join(root, 'ga', `eval-${benchmark}`);
      await evaluate({ model, modelName: 'ga', dataDir, benchmark: getBenchmark(benchmark), outDir: evalDir, dsSize: 4, maxNewTokens: 6, threads: 1, batchSize: 4 });
      const summary = JSON.parse(readFileSync(join(evalDir, 'summary.json'), 'utf8')) as { model: string; benchmark: string; tasks: Record<string, { n: number }> };
      expect([summary.model, summary.benchmark]).toEqual(['ga', benchmark]);
      expect(Object.keys(summary.tasks).length).toBeGreaterThan(2);
      for (const t of Object.values(summary.tasks)) expect(t.n).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe('clearbench run with a LLaVA model.hf', () => {
  const MODELS = ['base', 'ga-s0-forget10', 'gold-forget10', 'npo-s0-forget10', 'rmu-s0-forget10', 'target'];
  let run: string;
  let failed: unknown[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clearbench-llava-run-'));
    // Byte-level BPE: any text encodes, so a small corpus suffices for the tokenizer.
    const tokenizer = trainBpe(['The author was born in a small town and writes novels about the sea.'], { vocabSize: 300, minFrequency: 1 });
    writeRandomLlavaCheckpoint(join(dir, 'llava'), { config: tinyLlavaConfig(300), tokenizer, tokenizerConfig: { chat_template: LLAVA_TEMPLATE, eos_token: '<|eos|>', pad_token: '<|pad|>' }, layout: 'legacy' }, 2);
    const config = join(dir, 'llava.yaml');
    writeFileSync(config, `
name: llava
data: { source: synthetic, synthetic: { persons: 5, images_per_person: 1, well_known: 6, seed: 1 } }
model:
  hf: ${join(dir, 'llava')}
  recipes:
    target: { epochs: 2, lr: 3.0e-3, batch_size: 4, grad_accumulation: 2, weight_decay: 0.01, frozen: [model.vision_tower.], lora: { rank: 4, alpha: 16, targets: ['model.language_model.layers.*.self_attn.*', 'model.language_model.layers.*.mlp.*'] } }
    gold: { epochs: 1, lr: 3.0e-3, batch_size: 8, frozen: [model.vision_tower.] }
unlearning: { epochs: 1, lr: 1.0e-3, batch_size: 4, modality: joint, frozen: [model.vision_tower.] }
methods:
  - name: ga
  - name: npo
  - name: rmu
eval: { benchmarks: [clear], relearn_steps: 0, ds_size: 4, max_new_tokens: 4 }
threads: 1
jobs: 2
`);
    run = join(dir, 'run');
    process.env.CLEARBENCH_CACHE = join(dir, 'cache');
    try {
      failed = (await runPipeline({ config, out: run, display: plainDisplay(() => undefined), print: () => undefined })).outcome!.failed;
    } finally {
      delete process.env.CLEARBENCH_CACHE;
    }
  }, 240_000);

  test('every stage runs, every model is evaluated on CLEAR, the leaderboard ranks the methods', () => {
    expect(failed).toEqual([]);
    expect(readdirSync(join(run, 'models')).sort()).toEqual(MODELS);
    for (const m of MODELS) expect(existsSync(join(run, 'models', m, 'eval', 'clear-forget10', 'summary.json'))).toBe(true);
    const board = readFileSync(join(run, 'leaderboard.md'), 'utf8');
    for (const m of ['ga', 'npo', 'rmu']) expect(board).toContain(m);
  });

  test('the checkpoints keep the legacy layout and names, the vision tower untouched by fine-tuning', () => {
    const weights = (m: string) => readSafetensors(join(run, 'models', m, 'checkpoint', 'model.safetensors')).tensors;
    const base = weights('base');
    const target = weights('target');
    const cfg = JSON.parse(readFileSync(join(run, 'models', 'target', 'checkpoint', 'config.json'), 'utf8')) as { architectures: string[]; clearbench: { training: Record<string, unknown> } };
    expect(cfg.architectures).toEqual(['LlavaForConditionalGeneration']);
    expect(cfg.clearbench.training).toMatchObject({ recipe: 'target', grad_accumulation: 2, frozen: ['model.vision_tower.'], lora: { rank: 4, alpha: 16 } });
    expect([...target.keys()].sort()).toEqual([...base.keys()].sort());
    expect([...target.keys()].some((n) => n.startsWith('language_model.model.layers.'))).toBe(true);
    const q = 'vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight';
    expect(target.get(q)!.bytes).toEqual(base.get(q)!.bytes);
    const d = 'language_model.model.layers.0.mlp.down_proj.weight';
    expect(target.get(d)!.bytes).not.toEqual(base.get(d)!.bytes);
  });
});
