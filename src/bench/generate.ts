/**
 * Generation-throughput benchmark: greedy decoding on the `small` VLM preset (random weights, image prompts),
 * exactly `newTokens` tokens per row (eos ignored), cached (prefill + decode steps) against the uncached
 * full recompute, at each batch size.
 */
import { type EncodedSample } from '../models/batch.ts';
import { type BaseGenerator, Generator, ReferenceGenerator } from '../models/generate.ts';
import { type VLMConfig, imageTokenCount, initVLM, preset } from '../models/vlm.ts';
import { VlmModel } from '../models/vlm-model.ts';
import { ParamStore } from '../engine/params.ts';
import { DEFAULT_VOCAB_SIZE } from '../models/tokenizer/index.ts';
import { SPECIAL_IDS } from '../models/tokenizer/special-tokens.ts';
import { IGNORE_LABEL } from '../protocol/vocabulary.ts';
import { Rng } from '../util/rng.ts';

export interface GenerateBenchOptions {
  batches?: number[];
  newTokens?: number;
  /** Timed repetitions per measurement (the median is reported), after one warm-up run; runs alternate. */
  repeats?: number;
  threads?: number;
  /** Threads of the cached path's decode-step session (Generator default: 1). */
  decodeThreads?: number;
  seed?: number;
}

export interface GenerateBenchRow {
  batch: number;
  /** Real prompt lengths (image slots included). */
  prompt_tokens: number[];
  cached_ms: number;
  cached_tokens_per_s: number;
  /** Prompt-only run (one new token): the prefill's share of cached_ms. */
  prefill_ms: number;
  /** Mean time of one decode step: (cached − prefill) / (newTokens − 1). */
  decode_step_ms: number;
  uncached_ms: number;
  uncached_tokens_per_s: number;
  speedup: number;
  /** Cached and uncached generation chose the same tokens. */
  tokens_match: boolean;
}

export interface GenerateBenchResult {
  model: VLMConfig;
  params: number;
  new_tokens: number;
  threads: number;
  decode_threads: number;
  repeats: number;
  rows: GenerateBenchRow[];
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Chat-shaped image prompts with random question tokens of varied length (so rows are left-padded). */
function randomPrompts(cfg: VLMConfig, n: number, rng: Rng): EncodedSample[] {
  const nImg = imageTokenCount(cfg.vision);
  const size = 3 * cfg.vision.imageSize ** 2;
  const firstText = Object.keys(SPECIAL_IDS).length;
  return Array.from({ length: n }, () => {
    const question = Array.from({ length: 6 + rng.int(10) }, () => firstText + rng.int(cfg.lm.vocabSize - firstText));
    const ids = [SPECIAL_IDS.user, ...new Array(nImg).fill(SPECIAL_IDS.image), ...question, SPECIAL_IDS.assistant];
    return { ids, labels: ids.map(() => IGNORE_LABEL), image: Float32Array.from({ length: size }, () => rng.normal()), imageAt: 1 };
  });
}

/** onnxruntime's pool threads spin for a while after a run; let them park so they do not slow the next run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/**
 * Median wall time of each measurement. The runs alternate between the measurements (after one warm-up of
 * each, which compiles the sessions) so that a load change on a shared machine hits them alike.
 */
async function timeAlternating(runs: (() => Promise<number[][]>)[], repeats: number): Promise<{ ms: number; ids: number[][] }[]> {
  const ids: number[][][] = [];
  for (const run of runs) ids.push(await run());
  const times: number[][] = runs.map(() => []);
  for (let i = 0; i < repeats; i++) {
    for (const [k, run] of runs.entries()) {
      await settle();
      const t0 = performance.now();
      await run();
      times[k].push(performance.now() - t0);
    }
  }
  return runs.map((_, k) => ({ ms: median(times[k]), ids: ids[k] }));
}

export async function benchGenerate(opts: GenerateBenchOptions = {}, onProgress?: (what: string) => void): Promise<GenerateBenchResult> {
  const newTokens = opts.newTokens ?? 64;
  const repeats = opts.repeats ?? 3;
  const threads = opts.threads ?? 2;
  const decodeThreads = opts.decodeThreads ?? 1;
  const seed = opts.seed ?? 0;
  const cfg = preset('small', DEFAULT_VOCAB_SIZE);
  const store = new ParamStore();
  initVLM(store, cfg, seed);
  // Random weights and token ids: the generator never reads the tokenizer on the id-level path.
  const model = new VlmModel(store, cfg, null as never, 'small');
  const rows: GenerateBenchRow[] = [];
  for (const B of opts.batches ?? [8, 1]) {
    const prompts = randomPrompts(cfg, B, Rng.derive(seed, `bench-generate/${B}`));
    const cached = new Generator(model, { threads, decodeThreads });
    const reference = new ReferenceGenerator(model, { threads });
    onProgress?.(`batch ${B}`);
    const run = (gen: BaseGenerator, maxNewTokens: number) => async () => (await gen.generateIds(prompts, { maxNewTokens, ignoreEos: true })).ids;
    const [c, p, u] = await timeAlternating([run(cached, newTokens), run(cached, 1), run(reference, newTokens)], repeats);
    await cached.release();
    await reference.release();
    const tokens = B * newTokens;
    rows.push({
      batch: B,
      prompt_tokens: prompts.map((x) => x.ids.length),
      cached_ms: c.ms,
      cached_tokens_per_s: tokens / (c.ms / 1000),
      prefill_ms: p.ms,
      decode_step_ms: newTokens > 1 ? (c.ms - p.ms) / (newTokens - 1) : 0,
      uncached_ms: u.ms,
      uncached_tokens_per_s: tokens / (u.ms / 1000),
      speedup: u.ms / c.ms,
      tokens_match: JSON.stringify(c.ids) === JSON.stringify(u.ids),
    });
  }
  return { model: cfg, params: store.count(), new_tokens: newTokens, threads, decode_threads: decodeThreads, repeats, rows };
}
