/**
 * The training job: one recipe end to end: data → (tokenizer and fresh model for base | a base checkpoint)
 * → training loop → checkpoint with its training log and metadata.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { openDataDir } from '../data/dataset.ts';
import { TensorCache } from '../data/tensor-cache.ts';
import { Tokenizer, trainBpe } from '../models/tokenizer/index.ts';
import { type PresetName } from '../models/vlm.ts';
import { checkpointDir } from '../models/checkpoint.ts';
import { type LoadedModel } from '../models/model.ts';
import { addLora, type LoraConfig } from '../models/lora.ts';
import { loadModel } from '../models/model-kinds.ts';
import { initPresetModel } from '../models/vlm-model.ts';
import { HF_KIND_ID } from '../models/hf/hf-model.ts';
import { LLAVA_KIND_ID } from '../models/hf/llava-model.ts';
import { resolveHfSource } from '../models/hf/source.ts';
import { UserError } from '../util/errors.ts';
import { trainLogPath } from '../results/layout.ts';
import { type ForgetSplit, type RecipeName } from '../protocol/vocabulary.ts';
import { prepareImages } from './examples.ts';
import { datasetModality, recipeExamples, tokenizerCorpus } from './recipes.ts';
import { trainableNames } from './trainable.ts';
import { type StepLog, type TrainSummary, batchesPerEpoch, trainLoop } from './loop.ts';

export interface RecipeJob {
  recipe: RecipeName;
  /** CLEAR-layout dataset directory; its TOFU text lives in `<data>/tofu` when present. */
  dataDir: string;
  /** The model directory: the checkpoint goes to `<outDir>/checkpoint`, the log to `<outDir>/train_log.jsonl`. */
  outDir: string;
  /** Base model (target and gold): a model directory or a checkpoint directory. */
  from?: string;
  preset?: PresetName;
  vocabSize?: number;
  split?: ForgetSplit;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  /** target/gold: the fraction of the pretraining examples replayed each epoch (a fresh sample each epoch). */
  replay?: number;
  /** AdamW's decoupled weight decay (default RECIPE_DEFAULTS). */
  weightDecay?: number;
  /** Micro-batches per optimiser step (default 1). */
  accumulate?: number;
  /** target/gold: LoRA adapters on the matching layers, trained alone and merged on save. */
  lora?: LoraConfig | null;
  /** target/gold: parameter-name prefixes that do not train (default none). */
  frozen?: readonly string[];
  /** A Hugging Face checkpoint (model directory, or repo id) taken as this recipe's model instead of training it: the base, or a published target / gold fine-tuned from it. */
  hf?: string;
  /** The hub revision of `hf`. */
  revision?: string;
  /** Where a repo id `hf` is fetched from and cached (the run's data.hub settings; null: $CLEARBENCH_CACHE / $HF_ENDPOINT or their defaults). */
  hub?: { cacheDir: string | null; hubUrl: string | null };
  seed?: number;
  threads?: number;
  onStep?: (s: StepLog) => void;
}

/** Recipe defaults, chosen on the default synthetic dataset (see the README's figures). */
export const RECIPE_DEFAULTS: Record<RecipeName, { epochs: number; lr: number; replay: number; weightDecay: number }> = {
  base: { epochs: 30, lr: 5e-4, replay: 1, weightDecay: 0.01 },
  target: { epochs: 30, lr: 3e-4, replay: 0.25, weightDecay: 0.01 },
  gold: { epochs: 30, lr: 3e-4, replay: 0.25, weightDecay: 0.01 },
};

export async function runRecipe(r: RecipeJob): Promise<TrainSummary> {
  const data = await openDataDir(r.dataDir);
  const seed = r.seed ?? 0;

  if (r.hf !== undefined) return await adoptHfCheckpoint(r);

  let model: LoadedModel;
  if (r.recipe === 'base') {
    if (r.from) throw new UserError('the base recipe trains from scratch; drop --from');
    const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus(data), { vocabSize: r.vocabSize ?? 1024 }));
    model = initPresetModel(r.preset ?? 'small', tok, seed);
  } else {
    if (!r.from) throw new UserError(`the ${r.recipe} recipe fine-tunes a base model; pass --from <base checkpoint dir>`);
    model = loadModel(r.from);
    if (r.lora) addLora(model.params, r.lora, seed, model.linearLayers?.());
    const trained = new Set(trainableNames(model, r.frozen ?? [], undefined, `model.recipes.${r.recipe}.frozen`));
    if (!trained.size) throw new UserError(`model.recipes.${r.recipe}.frozen leaves no parameter to train; freeze fewer prefixes`);
    for (const e of model.params.entries()) e.trainable = trained.has(e.name);
  }

  const { examples, replayed, base } = await recipeExamples(r.recipe, data, { split: r.split, textOnly: model.textOnly });
  const images = await prepareImages(model, examples, TensorCache.default());
  const d = RECIPE_DEFAULTS[r.recipe];
  const epochs = r.epochs ?? d.epochs;
  const batchSize = r.batchSize ?? 16;
  const replay = { count: replayed, fraction: r.replay ?? d.replay };
  const accumulate = r.accumulate ?? 1;
  const totalSteps = Math.ceil(batchesPerEpoch(examples, batchSize, replay) / accumulate) * epochs;
  const logFile = trainLogPath(r.outDir);
  mkdirSync(r.outDir, { recursive: true });
  rmSync(logFile, { force: true });
  const summary = await trainLoop(model, examples, images, {
    epochs,
    batchSize,
    replay,
    seed,
    logFile,
    onStep: r.onStep,
    lrSetting: `--lr, or model.recipes.${r.recipe}.lr in a run config`,
    optimizer: {
      optimizer: { type: 'adamw', lr: r.lr ?? d.lr, weightDecay: r.weightDecay ?? d.weightDecay },
      accumulate,
      schedule: { type: 'cosine', warmupSteps: Math.min(30, Math.floor(totalSteps / 10)), totalSteps },
      maxGradNorm: 1,
      threads: r.threads,
    },
  });
  model.save(checkpointDir(r.outDir, true), {
    recipe: r.recipe, split: r.split ?? null, modality: model.textOnly ? 'text' : datasetModality(data), epochs, batchSize, lr: r.lr ?? d.lr, replay: replay.fraction, seed, ...fineTuneRecord(r), steps: summary.steps, final_loss: summary.lastEpochLoss, wall_s: summary.wallS, from: r.from ?? null, base_data: base,
  });
  return summary;
}

/** The settings beyond the built-in model's full fine-tune, recorded only where a recipe uses them. */
function fineTuneRecord(r: RecipeJob): Record<string, unknown> {
  return {
    ...(r.accumulate && r.accumulate > 1 ? { grad_accumulation: r.accumulate } : {}),
    ...(r.weightDecay !== undefined && r.weightDecay !== RECIPE_DEFAULTS[r.recipe].weightDecay ? { weight_decay: r.weightDecay } : {}),
    ...(r.lora ? { lora: JSON.parse(JSON.stringify(r.lora)) } : {}),
    ...(r.frozen?.length ? { frozen: [...r.frozen] } : {}),
  };
}

/**
 * A Hugging Face checkpoint saved as this recipe's model, untrained, layout and names kept: the base, or a
 * published target / gold. A fine-tune must be of the run's base: same architecture and vocabulary, or its
 * numbers would be set beside a base they never came from.
 */
async function adoptHfCheckpoint(r: RecipeJob): Promise<TrainSummary> {
  const t0 = performance.now();
  const revision = r.revision ?? 'main';
  const { dir, commit } = await resolveHfSource(r.hf!, revision, { cacheDir: r.hub?.cacheDir ?? undefined, hubUrl: r.hub?.hubUrl ?? undefined });
  const model = loadModel(dir);
  const key = r.recipe === 'base' ? 'model.hf' : r.recipe === 'target' ? 'model.target.hf' : `model.gold.${r.split}.hf`;
  if (model.kind.id !== HF_KIND_ID && model.kind.id !== LLAVA_KIND_ID) throw new UserError(`${key} ${r.hf} is not a Hugging Face checkpoint (its config.json names no architectures)`);
  if (r.recipe !== 'base') {
    if (!r.from) throw new UserError(`a published ${r.recipe} is compared with its base; pass --from <base checkpoint dir>`);
    const base = loadModel(r.from);
    const differs = sameModelFamily(base, model);
    if (differs) throw new UserError(`${key} ${r.hf} is not a fine-tune of the run's base model.hf (${differs}); point it at a fine-tune of that base`);
  }
  mkdirSync(r.outDir, { recursive: true });
  writeFileSync(trainLogPath(r.outDir), '');
  model.save(checkpointDir(r.outDir, true), { recipe: r.recipe, ...(r.split ? { split: r.split } : {}), hf: r.hf!, revision, commit, steps: 0 });
  return { steps: 0, finalLoss: NaN, lastEpochLoss: NaN, wallS: (performance.now() - t0) / 1000, tokens: 0 };
}

/** Why two checkpoints are not the same model with other weights (null when they are): parameter names and shapes, vocabulary. */
function sameModelFamily(a: LoadedModel, b: LoadedModel): string | null {
  const shapes = (m: LoadedModel) => new Map(m.params.entries().map((e) => [e.name, e.shape.join('×')]));
  const sa = shapes(a);
  const sb = shapes(b);
  for (const [n, s] of sa) if (sb.get(n) !== s) return sb.has(n) ? `${n} is ${sb.get(n)}, the base's ${s}` : `it has no ${n}`;
  for (const n of sb.keys()) if (!sa.has(n)) return `the base has no ${n}`;
  if (a.tokenizer.vocabSize !== b.tokenizer.vocabSize) return `its tokenizer has ${b.tokenizer.vocabSize} tokens, the base's ${a.tokenizer.vocabSize}`;
  return null;
}
