/**
 * The run plan: every stage of the protocol as a node with a content key, its inputs and its output
 * directory, in dependency order:
 *   data → base → target, gold (per split) → unlearned (method × sweep point × seed × split)
 *        → eval (every model × benchmark × split; gold's first, the others read it for forget quality).
 * The report is written after the plan, from whatever evaluations exist.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../util/errors.ts';
import { DATA_DIR, MODELS_DIR, evalDir, modelDir as runModelDir, modelRelDir } from '../results/layout.ts';
import { type ForgetSplit, MODALITIES, type RecipeName } from '../protocol/vocabulary.ts';
import { type DataParams } from './jobs/data-job.ts';
import { type PipelineConfig } from './config/schema.ts';
import { RECIPE_DEFAULTS } from '../train/recipe-job.ts';
import { stageKey } from './keys.ts';
import { type JobKind, type JobOf, type JobSpec, type MetaDraft } from './jobs/spec.ts';
import { type SweepPoint } from './sweep.ts';

export interface Stage {
  /** Unique id, e.g. `train:base`, `eval:npo-s0-forget10:clear-forget10`. */
  id: string;
  kind: JobKind;
  /** What the console shows. */
  label: string;
  key: string;
  /** Ids of the stages whose outputs this one reads. */
  deps: string[];
  /** The output directory; `done.json` in it (`.done.json` for data) marks completion with the key. */
  dir: string;
  /** Run-relative output directory (for moving unused outputs aside). */
  rel: string;
  /** The job's log (worker stdout and stderr). */
  log: string;
  /** Higher runs first among ready stages: the critical path (training, gold's evaluation) before the rest. */
  priority: number;
  spec: JobSpec;
}

export interface Plan {
  runDir: string;
  stages: Stage[];
  /** Model names in plan order. */
  models: string[];
}

/**
 * Where training keys start: the data source's identity (not where the cache lives). Settings at their
 * defaults that older versions did not have stay out, so existing runs keep their keys.
 */
function dataInputs(d: PipelineConfig['data'], needs: DataParams['needs']): Record<string, unknown> {
  if (d.source === 'synthetic') {
    const { pretrain_images, layout, ...rest } = d.synthetic;
    return { source: 'synthetic', ...rest, ...(pretrain_images === null ? {} : { pretrain_images }), ...(layout === 'clearbench' ? {} : { layout }) };
  }
  const { repo, revision, tofu_repo, tofu_revision } = d.hub;
  // A hub download fetches only what the plan reads: another split or benchmark fetches more.
  return { source: 'hub', repo, revision, tofu_repo, tofu_revision: tofu_repo ? tofu_revision : null, needs };
}

/** What the plan's stages read from the dataset (see data-needs.ts). */
export function planNeeds(config: PipelineConfig, points: readonly SweepPoint[]): DataParams['needs'] {
  return {
    splits: config.forget_splits as ForgetSplit[],
    benchmarks: config.eval.benchmarks,
    modalities: MODALITIES.filter((m) => points.some((p) => p.settings.modality === m)),
  };
}

type NewStage = Omit<Stage, 'key' | 'dir' | 'log'> & { inputs: Record<string, unknown>; logName?: string };

/** The plan as it grows: its stages and models, keyed and placed in the run directory. */
class PlanBuilder {
  readonly stages: Stage[] = [];
  readonly models: string[] = [];
  private readonly byId = new Map<string, Stage>();
  readonly dataDir: string;

  constructor(
    readonly run: string,
    readonly config: PipelineConfig,
  ) {
    this.dataDir = join(run, DATA_DIR);
  }

  get splits(): ForgetSplit[] {
    return this.config.forget_splits as ForgetSplit[];
  }

  modelDir(name: string): string {
    return runModelDir(this.run, name);
  }

  add(s: NewStage): Stage {
    const upstream = Object.fromEntries(s.deps.map((d) => [d, this.byId.get(d)!.key]));
    const { inputs, logName, ...rest } = s;
    const run = this.run;
    const dir = join(run, s.rel);
    // Names come from the config and from plugins: no stage may write outside its run directory.
    const below = relative(join(run, MODELS_DIR), dir);
    if (s.kind === 'data' ? dir !== join(run, DATA_DIR) : !below || below === '..' || below.startsWith(`..${sep}`) || isAbsolute(below)) {
      throw new UserError(`stage ${s.id} would write to ${dir}, outside ${join(run, MODELS_DIR)}; rename the method it names`);
    }
    const stage: Stage = { ...rest, key: stageKey(s.kind, inputs, upstream), dir, log: join(dir, logName ?? 'job.log') };
    this.stages.push(stage);
    this.byId.set(stage.id, stage);
    return stage;
  }
}

export function buildPlan(config: PipelineConfig, runDir: string, points: readonly SweepPoint[], methodSource: (method: string) => string): Plan {
  const b = new PlanBuilder(resolve(runDir), config);
  planData(b, planNeeds(config, points));
  planTraining(b);
  const unlearned = planUnlearning(b, points, methodSource);
  planEvaluation(b, unlearned);
  return { runDir: b.run, stages: b.stages, models: b.models };
}

function planData(b: PlanBuilder, needs: DataParams['needs']): void {
  const d = b.config.data;
  const m = b.config.model;
  const baseModel = m.hf === null ? null : existsSync(m.hf) ? resolve(m.hf) : `${m.hf}@${m.revision}`;
  const spec: JobOf<'data'> = { kind: 'data', dataDir: b.dataDir, source: d, needs, baseModel };
  b.add({
    id: 'data', kind: 'data', rel: DATA_DIR, deps: [], priority: 100, logName: '../data.log',
    label: d.source === 'synthetic'
      ? `data: synthesize ${d.synthetic.persons} persons × ${d.synthetic.images_per_person} images`
      : `data: download ${d.hub.repo}@${d.hub.revision}${d.hub.tofu_repo ? ` + ${d.hub.tofu_repo}` : ''}`,
    // Runs made before base_model was recorded keep their data stage when the base is trained here.
    inputs: { ...dataInputs(d, needs), ...(baseModel ? { base_model: baseModel } : {}) },
    spec,
  });
}

/** The trained models: base from scratch, then the target and one gold per forget split from base. */
function planTraining(b: PlanBuilder): void {
  const { model } = b.config;
  const splits = b.splits;
  const train = (name: string, recipe: RecipeName, split: ForgetSplit | null, dep: string, priority: number) => {
    const r = model.recipes[recipe];
    // base has no replay fraction: it trains on the pretraining examples themselves.
    const replay = 'replay' in r ? r.replay : 1;
    // The fine-tuning settings beyond the built-in full fine-tune join the inputs only when used, so run
    // directories made before they existed keep their trained models.
    const extra = 'lora' in r ? {
      ...(r.weight_decay !== RECIPE_DEFAULTS[recipe].weightDecay ? { weight_decay: r.weight_decay } : {}),
      ...(r.grad_accumulation > 1 ? { grad_accumulation: r.grad_accumulation } : {}),
      ...(r.lora ? { lora: r.lora } : {}),
      ...(r.frozen.length ? { frozen: r.frozen } : {}),
    } : {};
    const hyper = { epochs: r.epochs, lr: r.lr, batch_size: r.batch_size, ...('replay' in r ? { replay } : {}), ...extra };
    // A Hugging Face checkpoint taken as it is: the base, or a published fine-tune of it.
    const source = recipe === 'base' ? (model.hf === null ? null : { hf: model.hf, revision: model.revision }) : recipe === 'target' ? model.target : model.gold[split!] ?? null;
    const meta: MetaDraft = {
      name, role: recipe, method: null, hyperparameters: source ? { hf: source.hf, revision: source.revision } : hyper, seed: model.seed, group: null,
      // Fine-tuning takes every modality the dataset has: the modality is an unlearning setting only.
      forget_split: split ?? (splits.length === 1 ? splits[0] : null), modality: null,
    };
    // A local directory by its absolute path, anything else as a repo id.
    const hf = source ? (existsSync(source.hf) ? resolve(source.hf) : source.hf) : undefined;
    const spec: JobOf<'train'> = {
      kind: 'train', recipe, dataDir: b.dataDir, outDir: b.modelDir(name), from: recipe === 'base' ? undefined : b.modelDir('base'),
      preset: model.preset, vocabSize: model.vocab_size, split: split ?? undefined,
      epochs: r.epochs, lr: r.lr, batchSize: r.batch_size, replay, seed: model.seed, meta,
      weightDecay: 'lora' in r ? r.weight_decay : undefined, accumulate: 'lora' in r ? r.grad_accumulation : undefined,
      lora: 'lora' in r ? r.lora : undefined, frozen: 'lora' in r ? r.frozen : undefined,
      hf, revision: source?.revision,
      hub: hf === undefined ? undefined : { cacheDir: b.config.data.hub.cache_dir, hubUrl: b.config.data.hub.hub_url },
    };
    b.models.push(name);
    // base ignores the split (it trains on pretrain only); target ignores it too.
    const inputs = source
      ? { recipe, hf: source.hf, revision: source.revision }
      : recipe === 'base'
        ? { recipe, preset: model.preset, vocab_size: model.vocab_size, seed: model.seed, ...hyper }
        : { recipe, split, seed: model.seed, ...hyper };
    const label = source ? `${name}: Hugging Face ${source.hf}@${source.revision}` : `train ${name}`;
    b.add({ id: `train:${name}`, kind: 'train', label, rel: modelRelDir(name), deps: [dep], priority, inputs, spec });
  };
  train('base', 'base', null, 'data', 90);
  train('target', 'target', null, 'train:base', 80);
  for (const split of splits) train(`gold-${split}`, 'gold', split, 'train:base', 80);
}

interface Unlearned {
  name: string;
  split: ForgetSplit;
}

/** One unlearned model per sweep point × seed × forget split, each from the target. */
function planUnlearning(b: PlanBuilder, points: readonly SweepPoint[], methodSource: (method: string) => string): Unlearned[] {
  const unlearned: Unlearned[] = [];
  for (const p of points) {
    for (const seed of b.config.seeds) {
      for (const split of b.splits) {
        const name = `${p.name}-s${seed}-${split}`;
        const st = p.settings;
        const meta: MetaDraft = {
          name, role: 'unlearned', method: p.method.name, hyperparameters: { ...p.hyperparameters, ...p.given }, seed,
          group: `${p.name}-${split}`, forget_split: split, modality: st.modality,
        };
        const spec: JobOf<'unlearn'> = {
          kind: 'unlearn', method: p.method.name, plugins: b.config.plugins, hyperparameters: p.hyperparameters, from: b.modelDir('target'),
          dataDir: b.dataDir, outDir: b.modelDir(name), split, modality: st.modality, faceNames: st.face_names, epochs: st.epochs, batchSize: st.batch_size,
          optimizer: { type: st.optimizer, lr: st.lr, weightDecay: st.weight_decay },
          schedule: undefined, // a constant learning rate: the config has no schedule setting
          maxGradNorm: st.max_grad_norm, lora: st.lora, l1Lambda: st.l1_lambda, frozen: st.frozen, seed, meta,
        };
        b.models.push(name);
        unlearned.push({ name, split });
        b.add({
          id: `train:${name}`, kind: 'unlearn', label: `unlearn ${name}`, rel: modelRelDir(name), deps: ['train:target'], priority: 50, spec,
          inputs: { method: p.method.name, source: methodSource(p.method.name), hyperparameters: p.hyperparameters, settings: st, seed, split },
        });
      }
    }
  }
  return unlearned;
}

/** Evaluations: gold's first (the others compare with it), then base, target and every unlearned model. */
function planEvaluation(b: PlanBuilder, unlearned: readonly Unlearned[]): void {
  const { benchmarks, ...settings } = b.config.eval;
  const evalRel = (name: string, benchmark: string, split: ForgetSplit) => evalDir(modelRelDir(name), benchmark, split);
  const evalStage = (name: string, benchmark: string, split: ForgetSplit, priority: number) => {
    const isGold = name === `gold-${split}`;
    const goldId = `eval:gold-${split}:${benchmark}-${split}`;
    const rel = evalRel(name, benchmark, split);
    const spec: JobOf<'eval'> = {
      kind: 'eval', modelDir: b.modelDir(name), modelName: name, dataDir: b.dataDir, benchmark, split,
      gold: isGold ? 'self' : join(b.run, evalRel(`gold-${split}`, benchmark, split)), outDir: join(b.run, rel), settings,
    };
    b.add({
      id: `eval:${name}:${benchmark}-${split}`, kind: 'eval', label: `eval ${name} on ${benchmark}/${split}`, rel, priority, spec,
      deps: isGold ? [`train:${name}`] : [`train:${name}`, goldId],
      inputs: { benchmark, split, ...settings },
    });
  };
  const splits = b.splits;
  for (const split of splits) for (const bench of benchmarks) evalStage(`gold-${split}`, bench, split, 70);
  for (const split of splits) for (const bench of benchmarks) evalStage('base', bench, split, 40);
  for (const split of splits) for (const bench of benchmarks) evalStage('target', bench, split, 40);
  for (const u of unlearned) for (const bench of benchmarks) evalStage(u.name, bench, u.split, 40);
}
