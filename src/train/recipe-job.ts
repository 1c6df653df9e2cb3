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
import { loadModel } from '../models/model-kinds.ts';
import { initPresetModel } from '../models/vlm-model.ts';
import { HF_KIND_ID } from '../models/hf/hf-model.ts';
import { resolveHfSource } from '../models/hf/source.ts';
import { UserError } from '../util/errors.ts';
import { trainLogPath } from '../results/layout.ts';
import { type ForgetSplit, type RecipeName } from '../protocol/vocabulary.ts';
import { prepareImages } from './examples.ts';
import { datasetModality, recipeExamples, tokenizerCorpus } from './recipes.ts';
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
  /** base: a Hugging Face causal LM (model directory, or repo id) taken as the base instead of training one. */
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
export const RECIPE_DEFAULTS: Record<RecipeName, { epochs: number; lr: number; replay: number }> = {
  base: { epochs: 30, lr: 5e-4, replay: 1 },
  target: { epochs: 30, lr: 3e-4, replay: 0.25 },
  gold: { epochs: 30, lr: 3e-4, replay: 0.25 },
};

export async function runRecipe(r: RecipeJob): Promise<TrainSummary> {
  const data = await openDataDir(r.dataDir);
  const seed = r.seed ?? 0;

  if (r.recipe === 'base' && r.hf !== undefined) return await adoptHfBase(r);

  let model: LoadedModel;
  if (r.recipe === 'base') {
    if (r.from) throw new UserError('the base recipe trains from scratch; drop --from');
    const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus(data), { vocabSize: r.vocabSize ?? 1024 }));
    model = initPresetModel(r.preset ?? 'small', tok, seed);
  } else {
    if (!r.from) throw new UserError(`the ${r.recipe} recipe fine-tunes a base model; pass --from <base checkpoint dir>`);
    model = loadModel(r.from);
  }

  const { examples, replayed, base } = await recipeExamples(r.recipe, data, { split: r.split, textOnly: model.textOnly });
  const images = await prepareImages(model, examples, TensorCache.default());
  const d = RECIPE_DEFAULTS[r.recipe];
  const epochs = r.epochs ?? d.epochs;
  const batchSize = r.batchSize ?? 16;
  const replay = { count: replayed, fraction: r.replay ?? d.replay };
  const totalSteps = batchesPerEpoch(examples, batchSize, replay) * epochs;
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
      optimizer: { type: 'adamw', lr: r.lr ?? d.lr, weightDecay: 0.01 },
      schedule: { type: 'cosine', warmupSteps: Math.min(30, Math.floor(totalSteps / 10)), totalSteps },
      maxGradNorm: 1,
      threads: r.threads,
    },
  });
  model.save(checkpointDir(r.outDir, true), {
    recipe: r.recipe, split: r.split ?? null, modality: model.textOnly ? 'text' : datasetModality(data), epochs, batchSize, lr: r.lr ?? d.lr, replay: replay.fraction, seed, steps: summary.steps, final_loss: summary.lastEpochLoss, wall_s: summary.wallS, from: r.from ?? null, base_data: base,
  });
  return summary;
}

/** The base recipe for a Hugging Face base: the checkpoint saved as the run's base (layout and names kept), untrained. */
async function adoptHfBase(r: RecipeJob): Promise<TrainSummary> {
  const t0 = performance.now();
  const { dir, commit } = await resolveHfSource(r.hf!, r.revision ?? 'main', { cacheDir: r.hub?.cacheDir ?? undefined, hubUrl: r.hub?.hubUrl ?? undefined });
  const model = loadModel(dir);
  if (model.kind.id !== HF_KIND_ID) throw new UserError(`model.hf ${r.hf} is not a Hugging Face checkpoint (its config.json names no architectures)`);
  mkdirSync(r.outDir, { recursive: true });
  writeFileSync(trainLogPath(r.outDir), '');
  model.save(checkpointDir(r.outDir, true), { recipe: 'base', hf: r.hf!, revision: r.revision ?? 'main', commit, steps: 0 });
  return { steps: 0, finalLoss: NaN, lastEpochLoss: NaN, wallS: (performance.now() - t0) / 1000, tokens: 0 };
}
