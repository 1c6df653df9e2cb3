/**
 * A tiny random Llama (hub layout, written by src/models/hf/init.ts with a BPE tokenizer and a chat
 * template over its special tokens) through the protocol on the text modality, with the code paths the
 * VLM uses: fine-tune on TOFU QA (the loss falls), unlearn with GA and NPO (the forget loss rises), and
 * evaluate with the TOFU benchmark, saving and reloading the checkpoints between stages.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../../src/data/dataset.ts';
import { trainBpe } from '../../../src/models/tokenizer/index.ts';
import { tokenizerCorpus } from '../../../src/train/recipes.ts';
import { unlearningData } from '../../../src/methods/data.ts';
import { type Example, prepareImages } from '../../../src/train/examples.ts';
import { trainLoop } from '../../../src/train/loop.ts';
import { unlearn } from '../../../src/methods/unlearn.ts';
import { evaluate } from '../../../src/eval/evaluate.ts';
import { getBenchmark } from '../../../benchmarks/index.ts';
import { loadModel } from '../../../src/models/model-kinds.ts';
import { writeRandomHfCheckpoint } from '../../../src/models/hf/init.ts';
import { type LoadedModel } from '../../../src/models/model.ts';
import { measure } from '../../helpers/measure.ts';
import ga from '../../../methods/ga.ts';
import npo from '../../../methods/npo.ts';

const TEMPLATE = "{% for m in messages %}{% if m.role == 'user' %}<|user|>{{ m.content }}{% else %}<|assistant|>{{ m.content }}<|eos|>{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

let root: string;
let dataDir: string;
let forget: Example[];
let retain: Example[];
let targetDir: string;
const losses: number[] = [];

const forgetNll = async (model: LoadedModel) => (await measure({ model, images: new Map() }, forget)).meanNll;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clearbench-hf-protocol-'));
  dataDir = join(root, 'data');
  await generateSynthetic({ outDir: dataDir, persons: 4, imagesPerPerson: 1, wellKnown: 6, seed: 3 });
  const clear = await openClear(dataDir);
  const tofu = await openTofu(join(dataDir, 'tofu'));
  const tokenizer = trainBpe(await tokenizerCorpus({ clear, tofu }), { vocabSize: 400 });
  ({ forget, retain } = await unlearningData(clear, tofu, 'forget10', 'text'));
  const base = writeRandomHfCheckpoint(join(root, 'base'), {
    config: {
      architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 400, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true,
      hidden_act: 'silu', initializer_range: 0.02, bos_token_id: 2, eos_token_id: 1,
    },
    tokenizer,
    tokenizerConfig: { chat_template: TEMPLATE, eos_token: '<|eos|>', pad_token: '<|pad|>' },
  }, 1);
  const all = [...forget, ...retain];
  await trainLoop(base, all, await prepareImages(base, all), {
    epochs: 8, batchSize: 8, seed: 1,
    optimizer: { optimizer: { type: 'adamw', lr: 1e-2, weightDecay: 0 }, maxGradNorm: 1, threads: 1 },
    onStep: (s) => losses.push(s.loss),
  });
  targetDir = join(root, 'target', 'checkpoint');
  base.save(targetDir, { recipe: 'test-target' });
}, 120_000);

describe('a tiny random Llama through fine-tune → unlearn → evaluate', () => {
  test('fine-tuning lowers the loss', () => {
    const head = losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const tail = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(tail).toBeLessThan(head * 0.8);
  });

  test.each([['ga', ga], ['npo', npo]] as const)('%s unlearning raises the forget loss; the result saves, reloads and evaluates on TOFU', async (name, method) => {
    const model = loadModel(targetDir);
    const before = await forgetNll(model);
    await unlearn({
      method: method as never, model, forget, retain, images: await prepareImages(model, [...forget, ...retain]),
      epochs: 2, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 },
    });
    expect(await forgetNll(model)).toBeGreaterThan(before + 0.1);
    const out = join(root, name, 'checkpoint');
    model.save(out, { method: name });
    const evalDir = join(root, name, 'eval');
    await evaluate({ model: out, modelName: name, dataDir, benchmark: getBenchmark('tofu'), outDir: evalDir, dsSize: 4, maxNewTokens: 6, threads: 1, batchSize: 4 });
    const summary = JSON.parse(readFileSync(join(evalDir, 'summary.json'), 'utf8')) as { model: string; benchmark: string; tasks: Record<string, { prob: number; n: number }> };
    expect([summary.model, summary.benchmark]).toEqual([name, 'tofu']);
    expect(Object.keys(summary.tasks).sort()).toEqual(['real_authors', 'tofu_forget', 'tofu_retain', 'world_facts']);
    for (const t of Object.values(summary.tasks)) {
      expect(t.n).toBe(4);
      expect(t.prob).toBeGreaterThan(0);
      expect(t.prob).toBeLessThanOrEqual(1);
    }
  }, 120_000);
});
