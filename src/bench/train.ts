/**
 * Training-throughput benchmarks: the standard model the README compares with PyTorch, a causal transformer LM (vocabulary
 * 1000, d_model 128, 4 layers, 4 heads, MLP ×4), batch 16 × 64 tokens, AdamW; and a VLM preset on an
 * image batch shaped like the default recipes' caption batches (its image tokens plus text to 64 in all,
 * the text labelled), through the same loss the training recipes use.
 */
import { Graph } from '../engine/graph.ts';
import { ParamStore, bindParams } from '../engine/params.ts';
import { Trainer } from '../engine/step.ts';
import { tokenCE } from '../engine/losses.ts';
import { type CausalLMConfig, causalLMForward, initCausalLM } from '../models/causal-lm.ts';
import { Rng } from '../util/rng.ts';
import { summarizeProfile } from '../engine/profile.ts';
import { type PresetName, type VLMConfig, imageTokenCount, initVLM, preset } from '../models/vlm.ts';
import { type EncodedSample, shapeKey } from '../models/batch.ts';
import { VlmModel } from '../models/vlm-model.ts';
import { IGNORE_LABEL } from '../protocol/vocabulary.ts';
import { lmLossBuilder } from '../train/loop.ts';
import { type Feeds } from '../engine/session.ts';
import { type LossBuilder } from '../engine/step.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HfDecoderConfig, parseHfConfig } from '../models/hf/config.ts';
import { type DecoderInputs, decoderForward, decoderLinearPrefixes, maxSeqOf } from '../models/hf/decoder.ts';
import { initHfParams } from '../models/hf/init.ts';
import { paramsFromHub } from '../models/hf/hf-model.ts';
import { INDEX_FILE, SINGLE_FILE } from '../models/hf/weights.ts';
import { addLora, linearPrefixes } from '../models/lora.ts';
import { type LlavaConfig, isLlavaConfig, parseLlavaConfig } from '../models/hf/llava-config.ts';
import { type LlavaInputs, VISION_TOWER, llavaForward, llavaLinearPrefixes, llavaParamsFromHub } from '../models/hf/llava-model.ts';
import { initLlavaParams } from '../models/hf/init.ts';
import { UserError } from '../util/errors.ts';

export interface TrainBenchOptions {
  steps?: number;
  warmup?: number;
  threads?: number;
  batch?: number;
  seq?: number;
  seed?: number;
  /** 'lm' (the standard causal LM, default) or a VLM preset. */
  model?: 'lm' | PresetName;
  /** A Hugging Face model directory (config.json; its weights when present, else random ones) instead of `model`. */
  modelDir?: string;
  /** LoRA rank on every linear layer of the decoder (the rest frozen); full fine-tuning when absent. */
  lora?: number;
  /** Write an onnxruntime trace with this prefix and report kernel time per op type. */
  profilePrefix?: string;
}

export interface TrainBenchResult {
  /** 'lm', the VLM preset's name, or the Hugging Face architecture. */
  model_name: string;
  model: CausalLMConfig | VLMConfig | HfDecoderConfig | LlavaConfig;
  /** For a model directory: whether its weights were random (config.json only). */
  random_weights?: boolean;
  /** The model's parameters, adapters not counted. */
  params: number;
  /** Parameters the optimiser updates (all, or the LoRA adapters). */
  trainable_params: number;
  lora_rank: number | null;
  /** Image tokens per sample, counted in the tokens (0 for the LM). */
  image_tokens: number;
  batch: number;
  seq: number;
  threads: number;
  steps: number;
  step_ms: number;
  tokens_per_s: number;
  optimizer_ms: number;
  optimizer_share: number;
  first_loss: number;
  last_loss: number;
  peak_rss_mb: number;
  /** Kernel milliseconds per step by op type (with profilePrefix). */
  profile_ms_by_op?: Record<string, number>;
}

export const STANDARD_LM: CausalLMConfig = { vocabSize: 1000, dModel: 128, layers: 4, heads: 4, mlpRatio: 4, maxSeq: 64, norm: 'layernorm' };

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function benchTrain(opts: TrainBenchOptions = {}, onStep?: (i: number, total: number) => void): Promise<TrainBenchResult> {
  const B = opts.batch ?? 16;
  const T = opts.seq ?? 64;
  const steps = opts.steps ?? 30;
  const rng = new Rng(opts.seed ?? 0);
  const store = new ParamStore();
  const name = opts.model ?? 'lm';
  let run: MeasureJob;
  let random: boolean | undefined;
  if (opts.modelDir !== undefined) {
    const hf = hfJob(opts.modelDir, store, B, T, rng, opts.seed ?? 0);
    run = hf.job;
    random = hf.random;
  } else if (name === 'lm') {
    const cfg = { ...STANDARD_LM, maxSeq: T };
    initCausalLM(store, cfg, opts.seed ?? 0);
    // Data: a fixed random token stream the model can partly learn (next = f(current)).
    const ids = new BigInt64Array(B * T);
    const labels = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      let t = rng.int(cfg.vocabSize);
      for (let i = 0; i < T; i++) {
        ids[b * T + i] = BigInt(t);
        t = (t * 7 + 3 + rng.int(3)) % cfg.vocabSize;
        labels[b * T + i] = BigInt(t);
      }
    }
    const build = (g: Graph) => {
      const P = bindParams(g, store);
      const x = g.input('ids', [B, T], 'int64');
      const y = g.input('labels', [B, T], 'int64');
      const { logits } = causalLMForward(g, P, cfg, x);
      return { loss: tokenCE(logits, y) };
    };
    run = { cfg, imageTokens: 0, key: 'bench', build, feeds: { ids, labels } };
  } else {
    const cfg = preset(name, 1024);
    initVLM(store, cfg, opts.seed ?? 0);
    const n = imageTokenCount(cfg.vision);
    if (T <= n) throw new Error(`--seq ${T} leaves no text after the ${n} image tokens`);
    const imageToken = cfg.lm.vocabSize - 1; // any id: image slots take the image embeddings
    const samples: EncodedSample[] = Array.from({ length: B }, () => {
      const text = Array.from({ length: T - n }, () => rng.int(cfg.lm.vocabSize - 1));
      const image = new Float32Array(3 * cfg.vision.imageSize ** 2).map(() => rng.next() * 2 - 1);
      return { ids: [...Array(n).fill(imageToken), ...text], labels: [...Array(n).fill(IGNORE_LABEL), ...text], image, imageAt: 0 };
    });
    // Token ids are drawn directly: the loss graph never reads a tokenizer.
    const model = new VlmModel(store, cfg, null as never, name);
    const batch = model.batch(samples, { padSide: 'right', padTo: T });
    run = { cfg, imageTokens: n, key: shapeKey(batch.shape), build: lmLossBuilder(model, batch), feeds: { ...batch.feeds, targets: batch.targets } };
  }
  const params = store.count();
  if (opts.lora !== undefined) {
    const layers = run.linearLayers ?? linearPrefixes(store);
    addLora(store, { rank: opts.lora, alpha: 2 * opts.lora, targets: ['**'] }, opts.seed ?? 0, layers);
  }
  const threads = opts.threads ?? 2;
  const trainer = await Trainer.create(store, { optimizer: { type: 'adamw', lr: 1e-3 }, threads, profilePrefix: opts.profilePrefix });
  const m = await measure(trainer, run, opts.warmup ?? 5, steps, onStep);
  let profile: Record<string, number> | undefined;
  if (opts.profilePrefix) {
    const [session] = await trainer.sessions();
    const p = summarizeProfile(session.endProfiling());
    profile = Object.fromEntries(Object.entries(p.byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000 / p.runs]));
  }
  return {
    model_name: run.name ?? name, model: run.cfg, ...(random !== undefined ? { random_weights: random } : {}), image_tokens: run.imageTokens, batch: B, seq: T, threads,
    params, trainable_params: trainableCount(store), lora_rank: opts.lora ?? null, steps,
    step_ms: m.stepMs, tokens_per_s: (B * T) / (m.stepMs / 1000), optimizer_ms: m.optMs, optimizer_share: m.optMs / m.stepMs,
    first_loss: m.first, last_loss: m.last, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    ...(profile ? { profile_ms_by_op: profile } : {}),
  };
}

interface MeasureJob {
  cfg: CausalLMConfig | VLMConfig | HfDecoderConfig | LlavaConfig;
  /** The model's name when it is not `opts.model`. */
  name?: string;
  /** The layers LoRA adapts when the model names them. */
  linearLayers?: string[];
  imageTokens: number;
  key: string;
  build: LossBuilder;
  feeds: Feeds;
}

/** Median step and optimiser milliseconds over `steps` steps after `warmup` unmeasured ones. */
async function measure(trainer: Trainer, job: MeasureJob, warmup: number, steps: number, onStep?: (i: number, total: number) => void) {
  const stepMs: number[] = [];
  const optMs: number[] = [];
  let first = NaN, last = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const r = await trainer.run(job.key, job.build, job.feeds);
    const dt = performance.now() - t0;
    if (i === 0) first = r.loss;
    last = r.loss;
    if (i >= warmup) {
      stepMs.push(dt);
      optMs.push(trainer.lastTimings.optimizerMs);
    }
    onStep?.(i + 1, warmup + steps);
  }
  return { stepMs: median(stepMs), optMs: median(optMs), first, last };
}

/** Parameters the optimiser updates. */
function trainableCount(store: ParamStore): number {
  let n = 0;
  for (const e of store.entries()) if (e.trainable) n += e.data.length;
  return n;
}

/**
 * A Hugging Face decoder's training step on B×T random tokens: its weights when the directory has them,
 * random ones (transformers' init) when it holds only config.json; no tokenizer is read.
 */
function hfJob(dir: string, store: ParamStore, B: number, T: number, rng: Rng, seed: number): { job: MeasureJob; random: boolean } {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new UserError(`${dir} has no config.json; --model takes lm, a VLM preset or a Hugging Face model directory`);
  const raw = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  if (isLlavaConfig(raw)) return llavaJob(dir, raw, store, B, T, rng, seed);
  const c = parseHfConfig(raw, configPath);
  if (T > maxSeqOf(c)) throw new UserError(`--seq ${T} is longer than ${c.architecture}'s ${maxSeqOf(c)} positions`);
  const random = !existsSync(join(dir, SINGLE_FILE)) && !existsSync(join(dir, INDEX_FILE));
  const params = random ? initHfParams(c, seed, typeof raw.initializer_range === 'number' ? raw.initializer_range : 0.02) : paramsFromHub(dir, c);
  for (const e of params.entries()) store.add(e.name, e.shape, e.data, e.trainable);
  const ids = new BigInt64Array(B * T);
  const targets = new BigInt64Array(B * T);
  const positions = new BigInt64Array(B * T);
  for (let i = 0; i < B * T; i++) {
    ids[i] = BigInt(rng.int(c.vocabSize));
    targets[i] = BigInt(rng.int(c.vocabSize));
    positions[i] = BigInt(i % T);
  }
  const build = (g: Graph) => {
    const x: DecoderInputs = { ids: g.input('ids', [B, T], 'int64'), positions: g.input('positions', [B, T], 'int64') };
    const t = g.input('targets', [B, T], 'int64');
    return { loss: tokenCE(decoderForward(g, bindParams(g, store), c, x).logits, t) };
  };
  return { job: { cfg: c, name: c.architecture, linearLayers: decoderLinearPrefixes(c), imageTokens: 0, key: 'bench', build, feeds: { ids, positions, targets } }, random };
}

/**
 * A LLaVA's training step on B rows of one random image (its image tokens first) and random text to T
 * tokens, the text labelled, the vision tower frozen as CLEAR fine-tunes it; its weights when the directory
 * has them, else random ones.
 */
function llavaJob(dir: string, raw: Record<string, unknown>, store: ParamStore, B: number, T: number, rng: Rng, seed: number): { job: MeasureJob; random: boolean } {
  const configPath = join(dir, 'config.json');
  const c = parseLlavaConfig(raw, configPath);
  const n = c.imageTokens;
  if (T <= n) throw new UserError(`--seq ${T} leaves no text after the ${n} image tokens of ${configPath}`);
  if (T > maxSeqOf(c.text)) throw new UserError(`--seq ${T} is longer than the LLaVA decoder's ${maxSeqOf(c.text)} positions`);
  const random = !existsSync(join(dir, SINGLE_FILE)) && !existsSync(join(dir, INDEX_FILE));
  const params = random ? initLlavaParams(c, seed, typeof raw.initializer_range === 'number' ? raw.initializer_range : 0.02) : llavaParamsFromHub(dir, c).params;
  for (const e of params.entries()) store.add(e.name, e.shape, e.data, !e.name.startsWith(VISION_TOWER));
  const V = c.text.vocabSize;
  const ids = new BigInt64Array(B * T);
  const targets = new BigInt64Array(B * T).fill(BigInt(IGNORE_LABEL));
  const positions = new BigInt64Array(B * T);
  const index = new BigInt64Array(B * T);
  const slot = new Float32Array(B * T);
  const s = c.vision.imageSize;
  const images = Float32Array.from({ length: B * 3 * s * s }, () => rng.next() * 2 - 1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      positions[i] = BigInt(t);
      if (t < n) {
        ids[i] = BigInt(c.imageTokenId);
        index[i] = BigInt(t);
        slot[i] = 1;
      } else {
        let id = rng.int(V);
        if (id === c.imageTokenId) id = (id + 1) % V;
        ids[i] = BigInt(id);
      }
      if (t + 1 >= n && t + 1 < T) targets[i] = BigInt(rng.int(V));
    }
  }
  const build = (g: Graph) => {
    const x: LlavaInputs = {
      ids: g.input('ids', [B, T], 'int64'), positions: g.input('positions', [B, T], 'int64'),
      images: g.input('images', [B, 3, s, s]), imageIndex: g.input('image_index', [B, T], 'int64'), imageSlot: g.input('image_slot', [B, T, 1]),
    };
    const t = g.input('targets', [B, T], 'int64');
    return { loss: tokenCE(llavaForward(g, bindParams(g, store), c, x).logits, t) };
  };
  const layers = llavaLinearPrefixes(c).filter((l) => !l.startsWith(VISION_TOWER));
  return {
    job: { cfg: c, name: 'LlavaForConditionalGeneration', linearLayers: layers, imageTokens: n, key: 'bench', build, feeds: { ids, positions, images, image_index: index, image_slot: slot, targets } },
    random,
  };
}
