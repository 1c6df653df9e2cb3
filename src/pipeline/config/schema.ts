/**
 * The experiment config's schema (snake_case YAML keys, every key documented in configs/default.yaml).
 * Objects are strict (an unknown key is an error), every optional key has its default here, and values a
 * method entry may sweep accept a non-empty list (see sweep.ts).
 */
import { z } from 'zod';
import { RECIPE_DEFAULTS } from '../../train/recipe-job.ts';
import { PRESET_NAMES } from '../../models/vlm.ts';
import { DEFAULT_FORGET_SPLIT, DEFAULT_MODALITY, FORGET_SPLITS, MODALITIES, type Modality, TRUTH_RATIO_FORMS } from '../../protocol/vocabulary.ts';

export const OPTIMIZERS = ['adamw', 'sgd'] as const;

/** A strict object whose unknown-key error lists the keys it allows. */
function strict<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown key (allowed: ${Object.keys(shape).join(', ')})` : undefined),
  });
}

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const positiveNumber = z.number().positive();
const seed = z.number().int().min(0).max(2 ** 31 - 1);

const recipeShape = (name: keyof typeof RECIPE_DEFAULTS) => ({
  epochs: positiveInt.default(RECIPE_DEFAULTS[name].epochs),
  lr: positiveNumber.default(RECIPE_DEFAULTS[name].lr),
  batch_size: positiveInt.default(16),
});
const lora = strict({
  rank: positiveInt,
  alpha: positiveNumber,
  targets: z.array(z.string().min(1)).min(1),
});
const loraOrNull = z.union([z.null(), lora], { error: 'expected null or {rank, alpha, targets}' });
const frozen = z.array(z.string());

// base trains on the pretraining examples themselves, so only target and gold have a replay fraction.
const baseRecipe = strict(recipeShape('base')).prefault({});
// Fine-tuning a pretrained model the way the CLEAR reference does (LoRA, gradient accumulation, a frozen vision
// tower) needs these; their defaults are the built-in model's full fine-tune.
const fineTuneRecipe = (name: 'target' | 'gold') =>
  strict({
    ...recipeShape(name),
    replay: z.number().gt(0).max(1).default(RECIPE_DEFAULTS[name].replay),
    weight_decay: z.number().nonnegative().default(RECIPE_DEFAULTS[name].weightDecay),
    grad_accumulation: positiveInt.default(1),
    lora: loraOrNull.default(null),
    frozen: frozen.default([]),
  }).prefault({});

/** A published Hugging Face checkpoint taken as it is instead of training it (a directory or a repo id). */
const checkpointSource = strict({
  hf: z.string().min(1),
  revision: z.string().min(1).default('main'),
});
const goldSources = strict(Object.fromEntries(FORGET_SPLITS.map((s) => [s, checkpointSource.optional()])) as Record<(typeof FORGET_SPLITS)[number], z.ZodOptional<typeof checkpointSource>>);

/** The unlearning settings every method starts from (a method entry may override or sweep each). */
const unlearningShape = {
  epochs: positiveInt,
  lr: positiveNumber,
  batch_size: positiveInt,
  optimizer: z.enum(OPTIMIZERS),
  weight_decay: z.number().nonnegative(),
  max_grad_norm: z.union([z.null(), positiveNumber], { error: 'expected a positive number or null (no clipping)' }),
  lora: loraOrNull,
  l1_lambda: z.number().nonnegative(),
  frozen,
  modality: z.enum(MODALITIES),
  face_names: z.boolean(),
};
export const UNLEARNING_KEYS = Object.keys(unlearningShape) as (keyof typeof unlearningShape)[];

const unlearning = strict({
  epochs: unlearningShape.epochs.default(5),
  lr: unlearningShape.lr.default(1e-4),
  batch_size: unlearningShape.batch_size.default(8),
  optimizer: unlearningShape.optimizer.default('adamw'),
  weight_decay: unlearningShape.weight_decay.default(0),
  max_grad_norm: unlearningShape.max_grad_norm.default(1),
  lora: unlearningShape.lora.default(null),
  l1_lambda: unlearningShape.l1_lambda.default(0),
  frozen: unlearningShape.frozen.default(['vision.']),
  modality: unlearningShape.modality.default(DEFAULT_MODALITY),
  face_names: unlearningShape.face_names.default(false),
}).prefault({});

/** One value, or a non-empty list of values to sweep over. */
function sweepable<T extends z.ZodType>(one: T, what: string) {
  return z.union([one, z.array(one).min(1)], { error: `expected ${what}, or a non-empty list of them to sweep` });
}

const scalar = z.union([z.number(), z.string(), z.boolean()], { error: 'expected a number, string or boolean' });
const hyperValue = z.union([scalar, z.array(scalar).min(1)], { error: 'expected a number, string or boolean, or a non-empty list of them to sweep' });

const methodEntry = strict({
  name: z.string().min(1),
  hyperparameters: z.record(z.string(), hyperValue).default({}),
  epochs: sweepable(unlearningShape.epochs, 'a positive integer').optional(),
  lr: sweepable(unlearningShape.lr, 'a positive number').optional(),
  batch_size: sweepable(unlearningShape.batch_size, 'a positive integer').optional(),
  optimizer: sweepable(unlearningShape.optimizer, `one of ${OPTIMIZERS.join(', ')}`).optional(),
  weight_decay: sweepable(unlearningShape.weight_decay, 'a number ≥ 0').optional(),
  max_grad_norm: sweepable(unlearningShape.max_grad_norm, 'a positive number or null').optional(),
  lora: sweepable(loraOrNull, 'null or {rank, alpha, targets}').optional(),
  l1_lambda: sweepable(unlearningShape.l1_lambda, 'a number ≥ 0').optional(),
  // A list of strings is one value (frozen prefixes); a list of lists sweeps.
  frozen: z.union([frozen, z.array(frozen).min(1)], { error: 'expected a list of parameter-name prefixes, or a list of such lists to sweep' }).optional(),
  modality: sweepable(unlearningShape.modality, `one of ${MODALITIES.join(', ')}`).optional(),
  face_names: sweepable(unlearningShape.face_names, 'true or false').optional(),
});

const synthetic = strict({
  persons: positiveInt.default(40),
  images_per_person: positiveInt.default(8),
  well_known: z.number().int().min(6).default(20),
  seed: seed.default(0),
  // null: as many as images_per_person (each well-known person's and world item's pretraining images).
  pretrain_images: z.union([z.null(), positiveInt], { error: 'expected a positive integer or null (images_per_person)' }).default(null),
  layout: z.enum(['clearbench', 'hub']).default('clearbench'),
}).prefault({});

const hub = strict({
  repo: z.string().min(1).default('therem/CLEAR'),
  revision: z.string().min(1).default('main'),
  tofu_repo: z.union([z.null(), z.string().min(1)], { error: 'expected a repo id (owner/name) or null' }).default('locuslab/TOFU'),
  tofu_revision: z.string().min(1).default('main'),
  cache_dir: z.union([z.null(), z.string().min(1)], { error: 'expected a directory or null' }).default(null),
  hub_url: z.union([z.null(), z.string().min(1)], { error: 'expected a URL or null' }).default(null),
}).prefault({});

/**
 * The method entries of configs/default.yaml: what a config that lists none runs (every method in methods/,
 * npo once per unlearning modality, CLEAR's headline comparison; RMU with the lr, α and trained weights that let it steer
 * a small model, see configs/default.yaml).
 */
export const DEFAULT_METHOD_ENTRIES: readonly { name: string; modality?: Modality | Modality[]; lr?: number; hyperparameters?: Record<string, number | string> }[] = [
  { name: 'ga' }, { name: 'gd' }, { name: 'kl' }, { name: 'npo', modality: ['text', 'vision', 'joint'] },
  { name: 'npo', modality: 'joint', hyperparameters: { alpha: 3 } }, { name: 'simnpo' }, { name: 'idk' },
  { name: 'dpo' }, { name: 'retain_ft' }, { name: 'rmu', lr: 1e-3, hyperparameters: { alpha: 30, params: 'mlp' } }, { name: 'scrub' }, { name: 'undial' }, { name: 'llmu' }, { name: 'sku' },
];

/** Where the stages run: worker processes on this machine, or one Slurm job each (src/pipeline/slurm/). */
export const EXECUTORS = ['local', 'slurm'] as const;

const nullableString = (what: string) => z.union([z.null(), z.string().min(1)], { error: `expected ${what} or null (Slurm's default)` }).default(null);
/** What sbatch is asked for; null leaves a setting to the cluster's default (cpus_per_task: the job's threads). */
const slurmResourceShape = {
  partition: nullableString('a partition name'),
  account: nullableString('an account name'),
  qos: nullableString('a QOS name'),
  time: nullableString('a time limit (e.g. "02:00:00")'),
  cpus_per_task: z.union([z.null(), positiveInt], { error: 'expected a positive integer or null (the job\'s threads)' }).default(null),
  mem: nullableString('a memory size (e.g. "16G")'),
  gres: nullableString('a generic resource (e.g. "gpu:1")'),
  extra_args: z.array(z.string().min(1)).default([]),
};
// Per stage kind, each setting overrides the shared one (null: the shared one); extra_args add to the shared ones.
const slurmKind = strict(slurmResourceShape).prefault({});
const slurm = strict({ ...slurmResourceShape, train: slurmKind, unlearn: slurmKind, eval: slurmKind }).prefault({});

// The name is the run directory's last segment (runs/<name>): '.' or '..' would name a directory above it.
const runName = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, 'expected a name of letters, digits, dots, dashes and underscores')
  .refine((n) => n !== '.' && n !== '..', "expected a name of letters, digits, dots, dashes and underscores other than '.' and '..'");

export const configSchema = strict({
  name: runName,
  extends: z.string().optional(),
  data: strict({
    source: z.enum(['synthetic', 'hub']).default('synthetic'),
    synthetic,
    hub,
  }).prefault({}),
  model: strict({
    // A Hugging Face causal LM (a local directory in the hub layout, or a repo id) as the base instead of
    // training the preset from scratch; preset and vocab_size are then unused.
    hf: z.union([z.null(), z.string().min(1)], { error: 'expected a model directory, a repo id (owner/name) or null' }).default(null),
    revision: z.string().min(1).default('main'),
    // Published fine-tunes of model.hf to start from instead of training target / a split's gold
    // (e.g. OpenUnlearning's TOFU full and retain models, CLEAR's therem/llava-1.5-7b-CLEAR-finetune).
    target: z.union([z.null(), checkpointSource], { error: 'expected null or {hf, revision}' }).default(null),
    gold: goldSources.default({}),
    preset: z.enum(PRESET_NAMES).default('small'),
    vocab_size: z.number().int().min(64).default(1024),
    seed: seed.default(0),
    recipes: strict({ base: baseRecipe, target: fineTuneRecipe('target'), gold: fineTuneRecipe('gold') }).prefault({}),
  }).prefault({}),
  forget_splits: z
    .array(z.enum(FORGET_SPLITS))
    .min(1)
    .refine((xs) => new Set(xs).size === xs.length, 'expected each forget split at most once')
    .default([DEFAULT_FORGET_SPLIT]),
  unlearning,
  methods: z.array(methodEntry).prefault(() => DEFAULT_METHOD_ENTRIES.map((e) => structuredClone(e))),
  plugins: z.array(z.string().min(1)).default([]),
  seeds: z
    .array(seed)
    .min(1)
    .refine((xs) => new Set(xs).size === xs.length, 'expected each seed at most once')
    .default([0]),
  eval: strict({
    benchmarks: z.array(z.string().min(1)).min(1).default(['clear', 'tofu']),
    ds_size: positiveInt.default(300),
    max_new_tokens: z.union([z.null(), positiveInt], { error: 'expected a positive integer or null (the model\'s default)' }).default(null),
    relearn_steps: nonNegativeInt.default(10),
    seed: seed.default(0),
    truth_ratio: z.enum(TRUTH_RATIO_FORMS).default('tofu'),
    batch_size: positiveInt.default(16),
  }).prefault({}),
  threads: z.union([z.null(), positiveInt], { error: 'expected a positive integer or null (cores / jobs)' }).default(null),
  jobs: positiveInt.default(2),
  executor: z.enum(EXECUTORS).default('local'),
  slurm,
});

export type PipelineConfig = z.output<typeof configSchema>;
export type MethodEntry = PipelineConfig['methods'][number];
export type UnlearningSettings = PipelineConfig['unlearning'];
export type SlurmConfig = PipelineConfig['slurm'];
export type SlurmResources = Omit<SlurmConfig, 'train' | 'unlearn' | 'eval'>;
export type ExecutorName = (typeof EXECUTORS)[number];
