import { type Command } from 'commander';
import { existsSync, mkdtempSync } from 'node:fs';
import { UserError } from '../../util/errors.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchTrain, type TrainBenchResult } from '../../bench/train.ts';
import { benchRecall, type RecallResult, type RecallSet } from '../../bench/recall.ts';
import { benchGenerate } from '../../bench/generate.ts';
import { benchData, type BenchDataResult } from '../../data/bench.ts';
import { choice, positiveInt } from '../options.ts';
import { DEFAULT_FORGET_SPLIT, FORGET_SPLITS, type ForgetSplit } from '../../protocol/vocabulary.ts';
import { PRESET_NAMES, type PresetName, preset } from '../../models/vlm.ts';

/** Print a benchmark result: JSON with --json, else the human-readable text. */
function report<T>(json: boolean | undefined, result: T, text: (r: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : text(result));
}

/** A `\r`-updated progress note on a terminal (nothing with --json or when piped); done() ends the line. */
function progress(json: boolean | undefined): { note: (msg: string) => void; done: () => void } {
  const on = !json && process.stderr.isTTY;
  return {
    note: (msg) => on && process.stderr.write(`\r${msg.padEnd(40)}`),
    done: () => on && process.stderr.write('\n'),
  };
}

function trainText(r: TrainBenchResult): string {
  const what = trainedModelLine(r) + `; ${r.params.toLocaleString('en')} parameters` +
    (r.lora_rank !== null ? ` (LoRA r ${r.lora_rank}: ${r.trainable_params.toLocaleString('en')} trained)` : '') +
    `; batch ${r.batch}×${r.seq}${r.image_tokens ? ` (${r.image_tokens} image tokens each, counted)` : ''}; ${r.threads} threads\n`;
  let out =
    what +
    `median step        ${r.step_ms.toFixed(1)} ms over ${r.steps} steps\n` +
    `tokens/s           ${Math.round(r.tokens_per_s).toLocaleString('en')}\n` +
    `optimizer          ${r.optimizer_ms.toFixed(2)} ms (${(r.optimizer_share * 100).toFixed(1)} % of the step)\n` +
    `loss               ${r.first_loss.toFixed(3)} → ${r.last_loss.toFixed(3)}\n` +
    `peak RSS           ${r.peak_rss_mb.toFixed(0)} MiB\n`;
  if (r.profile_ms_by_op) {
    out += 'kernel time per step by op (profiled run, ms):\n';
    for (const [op, ms] of Object.entries(r.profile_ms_by_op).slice(0, 15)) out += `  ${op.padEnd(22)} ${ms.toFixed(2)}\n`;
  }
  return out;
}

/** What was trained, in one line's words. */
function trainedModelLine(r: TrainBenchResult): string {
  const m = r.model;
  if ('lm' in m) {
    return `${r.model_name} VLM: vision ${m.vision.imageSize}px/${m.vision.patch} d ${m.vision.dModel} × ${m.vision.layers}, decoder vocab ${m.lm.vocabSize}, d ${m.lm.dModel}, ${m.lm.layers} layers`;
  }
  if ('vision' in m && 'text' in m) {
    const t = m.text;
    return `LlavaForConditionalGeneration${r.random_weights ? ' (random weights)' : ''}: CLIP ${m.vision.imageSize}px/${m.vision.patch} hidden ${m.vision.hidden} × ${m.featureLayer} of ${m.vision.layers} layers (frozen), ${m.imageTokens} image tokens; ${t.architecture} vocab ${t.vocabSize}, hidden ${t.hidden}, ${t.layers} layers, ${t.heads} heads (${t.kvHeads} KV)`;
  }
  if ('architecture' in m) {
    return `${m.architecture}${r.random_weights ? ' (random weights)' : ''}: vocab ${m.vocabSize}, hidden ${m.hidden}, ${m.layers} layers, ${m.heads} heads (${m.kvHeads} KV), MLP ${m.intermediate}${m.tied ? ', tied head' : ''}`;
  }
  return `standard causal LM: vocab ${m.vocabSize}, d ${m.dModel}, ${m.layers} layers, ${m.heads} heads, MLP ×${m.mlpRatio}`;
}

function generateText(r: Awaited<ReturnType<typeof benchGenerate>>): string {
  const lm = r.model.lm;
  let out =
    `small VLM: decoder d ${lm.dModel}, ${lm.layers} layers, vocab ${lm.vocabSize}; ${r.params.toLocaleString('en')} parameters; ` +
    `${r.new_tokens} new tokens per row; ${r.threads} threads (decode ${r.decode_threads}); median of ${r.repeats}\n`;
  for (const x of r.rows) {
    out +=
      `batch ${x.batch} (prompts ${Math.min(...x.prompt_tokens)}–${Math.max(...x.prompt_tokens)} tokens)\n` +
      `  cached     ${x.cached_ms.toFixed(1)} ms, ${Math.round(x.cached_tokens_per_s).toLocaleString('en')} tokens/s ` +
      `(prefill ${x.prefill_ms.toFixed(1)} ms, decode step ${x.decode_step_ms.toFixed(2)} ms)\n` +
      `  uncached   ${x.uncached_ms.toFixed(1)} ms, ${Math.round(x.uncached_tokens_per_s).toLocaleString('en')} tokens/s\n` +
      `  speed-up   ${x.speedup.toFixed(1)}×; same tokens: ${x.tokens_match ? 'yes' : 'NO'}\n`;
  }
  return out;
}

function recallText(r: RecallResult): string {
  const line = (label: string, s: RecallSet) =>
    `${label.padEnd(8)} ${String(s.persons).padStart(3)} persons ${String(s.images).padStart(4)} images   ` +
    `name exact ${(100 * s.name_exact).toFixed(1).padStart(5)} %   caption ROUGE-L recall ${s.caption_rougeL_recall.toFixed(3)}\n`;
  return `${r.model} (${r.split}, ${r.seconds.toFixed(1)} s)\n${line('forget', r.forget)}${line('retain', r.retain)}`;
}

function dataText(r: BenchDataResult): string {
  return (
    `${r.images} images → ${r.size}×${r.size} tensors on ${r.cores} cores (median of ${r.runs.length})\n` +
    (r.generate_s !== null ? `generate dataset   ${r.generate_s.toFixed(1)} s (not counted)\n` : '') +
    `parquet load       ${r.load_s.toFixed(2)} s\n` +
    `decode + resize    ${r.decode_s.toFixed(2)} s\n` +
    `total              ${r.total_s.toFixed(2)} s (${Math.round(r.images_per_s)} images/s; target ≤ 10 s)\n`
  );
}

/** `clearbench bench <name>`: performance and model-quality figures (benchmarks, not tests). */
export function registerBench(program: Command): Command {
  const bench = program.command('bench').description('performance and model-quality figures (benchmarks, not tests)');
  bench
    .command('train')
    .description('training throughput of the standard causal LM (vocab 1000, d 128, 4 layers, 4 heads, MLP ×4, batch 16×64, AdamW), a VLM preset, or a Hugging Face model directory')
    .option('--steps <n>', 'measured steps after warm-up', positiveInt, 30)
    .option('--warmup <n>', 'warm-up steps', positiveInt, 5)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt, 2)
    .option('--model <name|dir>', 'lm (the standard causal LM), a VLM preset (small, tiny) on an image batch, or a Hugging Face model directory (config.json; random weights when it has no weights)', 'lm')
    .option('--batch <n>', 'rows per step (default 16; 4 for a model directory)', positiveInt)
    .option('--seq <n>', 'tokens per row (default 64; 128 for a model directory)', positiveInt)
    .option('--lora <rank>', 'train LoRA adapters of this rank on every linear layer (alpha 2 × rank), the rest frozen', positiveInt)
    .option('--json', 'print the result as JSON')
    .option('--profile', 'also report onnxruntime kernel time per op type')
    .action(async (o: { steps: number; warmup: number; threads: number; model: string; batch?: number; seq?: number; lora?: number; json?: boolean; profile?: boolean }) => {
      const named = o.model === 'lm' || (PRESET_NAMES as readonly string[]).includes(o.model);
      if (!named && !existsSync(o.model)) throw new UserError(`--model ${o.model}: not lm, a VLM preset (${PRESET_NAMES.join(', ')}) or a model directory`);
      const dir = o.profile ? mkdtempSync(join(tmpdir(), 'clearbench-prof-')) : null;
      const p = progress(o.json);
      const r = await benchTrain({
        ...o,
        model: named ? (o.model as 'lm' | PresetName) : undefined,
        modelDir: named ? undefined : o.model,
        batch: o.batch ?? (named ? undefined : 4),
        seq: o.seq ?? (named ? undefined : 128),
        profilePrefix: dir ? join(dir, 'train') : undefined,
      }, (i, n) => p.note(`step ${i}/${n}`));
      p.done();
      report(o.json, r, trainText);
    });
  bench
    .command('generate')
    .description('greedy generation on the small VLM preset (random weights, image prompts, 64 new tokens, eos ignored): cached vs uncached, batch 8 and 1')
    .option('--new-tokens <n>', 'tokens generated per row', positiveInt, 64)
    .option('--repeats <n>', 'timed runs per measurement (median reported)', positiveInt, 3)
    .option('--threads <n>', 'onnxruntime intra-op threads (prefill and uncached sessions)', positiveInt, 2)
    .option('--decode-threads <n>', 'intra-op threads of the decode-step session', positiveInt, 1)
    .option('--json', 'print the result as JSON')
    .action(async (o: { newTokens: number; repeats: number; threads: number; decodeThreads: number; json?: boolean }) => {
      const p = progress(o.json);
      const r = await benchGenerate({ newTokens: o.newTokens, repeats: o.repeats, threads: o.threads, decodeThreads: o.decodeThreads }, p.note);
      p.done();
      report(o.json, r, generateText);
    });
  bench
    .command('recall')
    .description("what a trained model knows: greedy face-name exact match and caption ROUGE-L recall on a split's forget and retain persons")
    .requiredOption('--model <dir>', 'model directory or checkpoint')
    .requiredOption('--data <dir>', 'the dataset it was trained on')
    .option('--forget-split <split>', FORGET_SPLITS.join(' | '), choice(FORGET_SPLITS, '--forget-split'), DEFAULT_FORGET_SPLIT)
    .option('--max-images <n>', 'images per set at most', positiveInt, 200)
    .option('--json', 'print the result as JSON')
    .action(async (o: { model: string; data: string; forgetSplit: ForgetSplit; maxImages: number; json?: boolean }) => {
      report(o.json, await benchRecall({ model: o.model, dataDir: o.data, split: o.forgetSplit, maxImages: o.maxImages }), recallText);
    });
  bench
    .command('data')
    .description('time loading, decoding and resizing a CLEAR-scale synthetic config (200 persons × 19 images)')
    .option('--persons <n>', 'persons in the generated dataset', positiveInt, 200)
    .option('--images-per-person <n>', 'images per person', positiveInt, 19)
    // The default model's input side: what a default run decodes and resizes to.
    .option('--size <n>', 'model input side in pixels', positiveInt, preset('small', 1).vision.imageSize)
    .option('--repeats <n>', 'measured repetitions (median reported)', positiveInt, 3)
    .option('--dir <dir>', 'reuse (or create) the dataset here instead of a temporary directory')
    .option('--json', 'print the result as JSON')
    .action(async (o: { persons: number; imagesPerPerson: number; size: number; repeats: number; dir?: string; json?: boolean }) => {
      report(o.json, await benchData(o), dataText);
    });
  return bench;
}
