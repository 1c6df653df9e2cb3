/**
 * Training-step throughput of a random Llama at SmolLM2-135M's published width (hidden 576, 9 heads, 3 KV heads,
 * intermediate 1536, vocab 49,152, tied) with 4 layers, batch 4 × 128, full fine-tuning with AdamW, 2 threads.
 * Run: node --import tsx scripts/hf-reference/bench-llama-train.mts (until `clearbench bench train --model` exists).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph } from '../../src/engine/graph.ts';
import { bindParams } from '../../src/engine/params.ts';
import { Trainer } from '../../src/engine/step.ts';
import { tokenCE } from '../../src/engine/losses.ts';
import { trainBpe } from '../../src/models/tokenizer/index.ts';
import { writeRandomHfCheckpoint } from '../../src/models/hf/init.ts';
const tokenizer = trainBpe(['hello world'], { vocabSize: 300, minFrequency: 1 });
const model = writeRandomHfCheckpoint(join(mkdtempSync(join(tmpdir(), 'hf-bench-')), 'model'), {
  config: { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 4,
    num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, hidden_act: 'silu' },
  tokenizer, tokenizerConfig: { chat_template: '{% for m in messages %}{{ m.content }}<|eos|>{% endfor %}', eos_token: '<|eos|>' },
}, 1);
const B = 4, S = 128;
const ids = BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 7919) % 49152));
const positions = BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S));
const targets = BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 104729) % 49152));
const shape = { B, S, image: false };
const build = (g: Graph) => {
  const x = model.declareInputs(g, shape);
  const t = g.input('targets', [B, S], 'int64');
  return { loss: tokenCE(model.forward(g, bindParams(g, model.params), x).logits, t) };
};
const trainer = await Trainer.create(model.params, { optimizer: { type: 'adamw', lr: 1e-4 }, threads: 2 });
const feeds = { ids, positions, targets };
for (let i = 0; i < 2; i++) await trainer.run('b', build, feeds);
const n = 5;
const t0 = performance.now();
for (let i = 0; i < n; i++) await trainer.run('b', build, feeds);
const s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ params: model.params.count(), tokens_per_s: (n * B * S) / s, step_s: s / n, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
