/**
 * The run plan: every stage of the protocol as a node with a content key, its inputs and its output
 * directory, in dependency order:
 *   data → base → target, gold (per split) → unlearned (method × sweep point × seed × split)
 *        → eval (every model × benchmark × split; gold's first, the others read it for forget quality).
 * The report is written after the plan, from whatever evaluations exist.
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../util/errors.ts';
import { type ForgetSplit } from '../train/recipes.ts';
import { type PipelineConfig } from './config/schema.ts';
import { stageKey } from './keys.ts';
import { type EvalJob, type JobSpec, type MetaDraft, type TrainJob, type UnlearnJob } from './jobs/spec.ts';
import { type SweepPoint } from './sweep.ts';

export type StageKind = 'data' | 'train' | 'unlearn' | 'eval';

export interface DataSpec {
  kind: 'data';
  dataDir: string;
  source: PipelineConfig['data'];
}

export interface Stage {
  /** Unique id, e.g. `train:base`, `eval:npo-s0-forget10:clear-forget10`. */
  id: string;
  kind: StageKind;
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
  spec: JobSpec | DataSpec;
}

export interface Plan {
  runDir: string;
  stages: Stage[];
  /** Model names in plan order. */
  models: string[];
}

export const DATA_DIR = 'data';
export const MODELS_DIR = 'models';

/** Where training keys start: the data source's identity (not where the cache lives). */
function dataInputs(d: PipelineConfig['data']): Record<string, unknown> {
  if (d.source === 'synthetic') return { source: 'synthetic', ...d.synthetic };
  const { repo, revision, tofu_repo, tofu_revision } = d.hub;
  return { source: 'hub', repo, revision, tofu_repo, tofu_revision: tofu_repo ? tofu_revision : null };
}

export function buildPlan(config: PipelineConfig, runDir: string, points: readonly SweepPoint[], methodSource: (method: string) => string): Plan {
  const run = resolve(runDir);
  const stages: Stage[] = [];
  const byId = new Map<string, Stage>();
  const add = (s: Omit<Stage, 'key' | 'dir' | 'log'> & { inputs: Record<string, unknown>; logName?: string }) => {
    const upstream = Object.fromEntries(s.deps.map((d) => [d, byId.get(d)!.key]));
    const { inputs, logName, ...rest } = s;
    const dir = join(run, s.rel);
    // Names come from the config and from plugins: no stage may write outside its run directory.
    const below = relative(join(run, MODELS_DIR), dir);
    if (s.kind === 'data' ? dir !== join(run, DATA_DIR) : !below || below === '..' || below.startsWith(`..${sep}`) || isAbsolute(below)) {
      throw new UserError(`stage ${s.id} would write to ${dir}, outside ${join(run, MODELS_DIR)}; rename the method it names`);
    }
    const stage: Stage = { ...rest, key: stageKey(s.kind, inputs, upstream), dir, log: join(dir, logName ?? 'job.log') };
    stages.push(stage);
    byId.set(stage.id, stage);
    return stage;
  };
  const splits = config.forget_splits as ForgetSplit[];
  const dataDir = join(run, DATA_DIR);
  const { model, modality } = config;
  const modelDir = (name: string) => join(run, MODELS_DIR, name);

  add({
    id: 'data', kind: 'data', rel: DATA_DIR, deps: [], priority: 100, logName: '../data.log',
    label: config.data.source === 'synthetic'
      ? `data: synthesize ${config.data.synthetic.persons} persons × ${config.data.synthetic.images_per_person} images`
      : `data: download ${config.data.hub.repo}@${config.data.hub.revision}${config.data.hub.tofu_repo ? ` + ${config.data.hub.tofu_repo}` : ''}`,
    inputs: dataInputs(config.data),
    spec: { kind: 'data', dataDir, source: config.data },
  });

  const models: string[] = [];
  const train = (name: string, recipe: 'base' | 'target' | 'gold', split: ForgetSplit | null, dep: string, priority: number) => {
    const r = model.recipes[recipe];
    // base has no replay fraction: it trains on the pretraining examples themselves.
    const replay = 'replay' in r ? r.replay : 1;
    const hyper = { epochs: r.epochs, lr: r.lr, batch_size: r.batch_size, ...('replay' in r ? { replay } : {}) };
    const meta: MetaDraft = {
      name, role: recipe, method: null, hyperparameters: hyper, seed: model.seed, group: null,
      forget_split: split ?? (splits.length === 1 ? splits[0] : null), modality,
    };
    const spec: TrainJob = {
      kind: 'train', recipe, dataDir, modelDir: modelDir(name), from: recipe === 'base' ? null : modelDir('base'), preset: model.preset,
      vocabSize: model.vocab_size, split, modality, epochs: r.epochs, lr: r.lr, batchSize: r.batch_size, replay, seed: model.seed, meta,
    };
    models.push(name);
    // base ignores modality and split (it trains on pretrain only); target ignores the split.
    const inputs = recipe === 'base'
      ? { recipe, preset: model.preset, vocab_size: model.vocab_size, seed: model.seed, ...hyper }
      : { recipe, split, modality, seed: model.seed, ...hyper };
    return add({ id: `train:${name}`, kind: 'train', label: `train ${name}`, rel: join(MODELS_DIR, name), deps: [dep], priority, inputs, spec });
  };

  train('base', 'base', null, 'data', 90);
  train('target', 'target', null, 'train:base', 80);
  for (const split of splits) train(`gold-${split}`, 'gold', split, 'train:base', 80);

  const unlearned: { name: string; split: ForgetSplit }[] = [];
  for (const p of points) {
    for (const seed of config.seeds) {
      for (const split of splits) {
        const name = `${p.name}-s${seed}-${split}`;
        const st = p.settings;
        const meta: MetaDraft = {
          name, role: 'unlearned', method: p.method.name, hyperparameters: { ...p.hyperparameters, ...p.given }, seed,
          group: `${p.name}-${split}`, forget_split: split, modality,
        };
        const spec: UnlearnJob = {
          kind: 'unlearn', method: p.method.name, plugins: config.plugins, hyperparameters: p.hyperparameters, from: modelDir('target'), dataDir,
          modelDir: modelDir(name), split, modality, epochs: st.epochs, batchSize: st.batch_size,
          optimizer: st.optimizer === 'adamw' ? { type: 'adamw', lr: st.lr, weightDecay: st.weight_decay } : { type: 'sgd', lr: st.lr, weightDecay: st.weight_decay },
          maxGradNorm: st.max_grad_norm, lora: st.lora, l1Lambda: st.l1_lambda, frozen: st.frozen, seed, meta,
        };
        models.push(name);
        unlearned.push({ name, split });
        add({
          id: `train:${name}`, kind: 'unlearn', label: `unlearn ${name}`, rel: join(MODELS_DIR, name), deps: ['train:target'], priority: 50, spec,
          inputs: { method: p.method.name, source: methodSource(p.method.name), hyperparameters: p.hyperparameters, settings: st, seed, split, modality },
        });
      }
    }
  }

  // Evaluations: gold's first (the others compare with it), then base, target and every unlearned model.
  const ev = config.eval;
  const evalStage = (name: string, benchmark: string, split: ForgetSplit, priority: number) => {
    const isGold = name === `gold-${split}`;
    const goldId = `eval:gold-${split}:${benchmark}-${split}`;
    const rel = join(MODELS_DIR, name, 'eval', `${benchmark}-${split}`);
    const spec: EvalJob = {
      kind: 'eval', modelDir: modelDir(name), modelName: name, dataDir, benchmark, split, gold: isGold ? 'self' : join(run, MODELS_DIR, `gold-${split}`, 'eval', `${benchmark}-${split}`),
      outDir: join(run, rel), dsSize: ev.ds_size, maxNewTokens: ev.max_new_tokens, seed: ev.seed, relearn: ev.relearn_steps,
      truthRatio: ev.truth_ratio, batchSize: ev.batch_size,
    };
    add({
      id: `eval:${name}:${benchmark}-${split}`, kind: 'eval', label: `eval ${name} on ${benchmark}/${split}`, rel, priority, spec,
      deps: isGold ? [`train:${name}`] : [`train:${name}`, goldId],
      inputs: { benchmark, split, ds_size: ev.ds_size, max_new_tokens: ev.max_new_tokens, relearn_steps: ev.relearn_steps, seed: ev.seed, truth_ratio: ev.truth_ratio, batch_size: ev.batch_size },
    });
  };
  for (const split of splits) for (const b of ev.benchmarks) evalStage(`gold-${split}`, b, split, 70);
  for (const split of splits) for (const b of ev.benchmarks) evalStage('base', b, split, 40);
  for (const split of splits) for (const b of ev.benchmarks) evalStage('target', b, split, 40);
  for (const u of unlearned) for (const b of ev.benchmarks) evalStage(u.name, b, u.split, 40);

  return { runDir: run, stages, models };
}

