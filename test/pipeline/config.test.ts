/**
 * Config loading and planning without training: the documented one-line validation errors (unknown key,
 * wrong type, missing key, unknown method, unknown or ill-typed hyperparameter), `extends` and `--set`,
 * sweep expansion and names, and stable resolved configs and stage keys.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/pipeline/config/load.ts';
import { canonicalJson, stageKey } from '../../src/pipeline/keys.ts';
import { formatPlan, prepareRun, resolvedYaml } from '../../src/pipeline/run-pipeline.ts';
import { nameValue } from '../../src/pipeline/sweep.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a config file (YAML text or an object) and returns its path. */
function cfg(name: string, body: string | object): string {
  const file = join(dir, name);
  writeFileSync(file, typeof body === 'string' ? body : stringify(body));
  return file;
}

const load = (file: string, sets: string[] = []) => loadConfig(file, { sets });
const prepare = (file: string, sets: string[] = []) => prepareRun({ config: file, sets, out: join(dir, 'runs', 'x') });

describe('validation errors: one line naming the file, the key path and what was expected', () => {
  test('executor and slurm settings: a wrong executor or slurm key is one line naming it', () => {
    expect(() => load(cfg('bad-executor.yaml', 'executor: pbs\n'))).toThrow(/bad-executor\.yaml: executor: /);
    expect(() => load(cfg('bad-slurm.yaml', 'slurm: { train: { gpus: 1 } }\n'))).toThrow(
      /bad-slurm\.yaml: slurm\.train\.gpus: unknown key \(allowed: partition, account, qos, time, cpus_per_task, mem, gres, extra_args\)/,
    );
    expect(load(cfg('slurm-ok.yaml', 'executor: slurm\nslurm: { partition: gpu, eval: { time: "00:30:00" } }\n')).config).toMatchObject({
      executor: 'slurm', slurm: { partition: 'gpu', gres: null, eval: { time: '00:30:00', partition: null } },
    });
  });

  test('unknown key', () => {
    const f = cfg('unknown-key.yaml', 'data:\n  synthetic:\n    person: 10\n');
    expect(() => load(f)).toThrow(`${f}: data.synthetic.person: unknown key (allowed: persons, images_per_person, well_known, seed, pretrain_images, layout)`);
    const top = cfg('unknown-top.yaml', 'method: [ga]\n');
    expect(() => load(top)).toThrow(
      `${top}: method: unknown key (allowed: name, extends, data, model, forget_splits, unlearning, methods, plugins, seeds, eval, threads, jobs, executor, slurm)`,
    );
  });

  test('wrong type', () => {
    const f = cfg('wrong-type.yaml', 'model:\n  recipes:\n    base: { epochs: ten }\n');
    expect(() => load(f)).toThrow(`${f}: model.recipes.base.epochs: expected a number, got the string "ten"`);
    const g = cfg('wrong-int.yaml', 'model:\n  recipes:\n    target: { epochs: 2.5 }\n');
    expect(() => load(g)).toThrow(`${g}: model.recipes.target.epochs: expected an integer, got 2.5`);
    const h = cfg('wrong-enum.yaml', 'forget_splits: [forget10, forget20]\n');
    expect(() => load(h)).toThrow(`${h}: forget_splits[1]: expected one of forget01, forget05, forget10, got the string "forget20"`);
    const i = cfg('wrong-positive.yaml', 'unlearning: { lr: 0 }\n');
    expect(() => load(i)).toThrow(`${i}: unlearning.lr: expected a positive number, got 0`);
    const j = cfg('wrong-list.yaml', 'seeds: 3\n');
    expect(() => load(j)).toThrow(`${j}: seeds: expected a list, got 3`);
    const k = cfg('wrong-sweep.yaml', 'methods:\n  - name: ga\n    lr: [1e-4, fast]\n');
    expect(() => load(k)).toThrow(`${k}: methods[0].lr: expected a positive number, or a non-empty list of them to sweep, got a list`);
  });

  test('missing key', () => {
    const f = cfg('missing.yaml', 'methods:\n  - hyperparameters: { beta: 0.1 }\n');
    expect(() => load(f)).toThrow(`${f}: methods[0].name: missing; expected a string`);
  });

  test('unknown method', async () => {
    const f = cfg('unknown-method.yaml', 'methods:\n  - name: ga\n  - name: foo\n');
    await expect(prepare(f)).rejects.toThrow(
      new RegExp(`^${f.replace(/[.]/g, '\\.')}: methods\\[1\\]\\.name: unknown method 'foo' \\(known: [a-z_, ]*ga[a-z_, ]*\\); add a plugin file or fix the name$`),
    );
  });

  test('unknown hyperparameter', async () => {
    const f = cfg('unknown-hyper.yaml', 'methods:\n  - name: ga\n  - name: gd\n  - name: npo\n    hyperparameters: { bta: 0.5 }\n');
    await expect(prepare(f)).rejects.toThrow(
      `${f}: methods[2].hyperparameters.bta: method 'npo' has no hyperparameter 'bta' (it has: beta, alpha, gamma); fix the name or remove it`,
    );
  });

  test('ill-typed hyperparameter, also inside a sweep list', async () => {
    const f = cfg('bad-hyper.yaml', 'methods:\n  - name: npo\n    hyperparameters: { beta: [0.1, "high"] }\n');
    await expect(prepare(f)).rejects.toThrow(`${f}: methods[0].hyperparameters.beta: method 'npo' hyperparameter 'beta' must be a number, got "high"`);
    const g = cfg('bad-enum-hyper.yaml', 'methods:\n  - name: gd\n    hyperparameters: { retain_loss: mse }\n');
    await expect(prepare(g)).rejects.toThrow(`${g}: methods[0].hyperparameters.retain_loss: method 'gd' hyperparameter 'retain_loss' must be one of nll, kl, got "mse"`);
  });

  test('unknown benchmark, bad YAML, missing file', async () => {
    const f = cfg('bad-bench.yaml', 'eval: { benchmarks: [clear, mmlu] }\n');
    await expect(prepare(f)).rejects.toThrow(`${f}: eval.benchmarks[1]: unknown benchmark "mmlu"; use one of clear, tofu`);
    const g = cfg('bad-yaml.yaml', 'methods: [ga\n');
    expect(() => load(g)).toThrow(new RegExp(`^${g.replace(/[.]/g, '\\.')}: not valid YAML \\(.+\\); fix the syntax$`));
    const missing = join(dir, 'nope.yaml');
    expect(() => load(missing)).toThrow(`${missing}: cannot read the config file (ENOENT); check the path`);
  });

  test('two entries describing the same run', async () => {
    const f = cfg('dup.yaml', 'methods:\n  - name: ga\n  - name: ga\n');
    await expect(prepare(f)).rejects.toThrow(`${f}: methods[0] and methods[1] both describe the run 'ga'; remove one or change a value`);
  });
});

describe('names and keys that would reach outside the config', () => {
  test("a name that is not a single path segment ('..', '.') is refused, in the file and from --set", () => {
    const up = cfg('up.yaml', 'name: ..\n');
    expect(() => load(up)).toThrow(`${up}: name: expected a name of letters, digits, dots, dashes and underscores other than '.' and '..', got the string ".."`);
    const ok = cfg('named.yaml', 'seeds: [0]\n');
    expect(() => load(ok, ['name=.'])).toThrow(`--set name=.: name: expected a name of letters, digits, dots, dashes and underscores other than '.' and '..', got the string "."`);
    expect(() => load(ok, ['name=a/b'])).toThrow('--set name=a/b: name: expected a name of letters, digits, dots, dashes and underscores, got the string "a/b"');
    expect(load(ok, ['name=v1.2_b-3']).config.name).toBe('v1.2_b-3');
  });

  test('__proto__, constructor and prototype are refused in --set paths, --set values and YAML mappings, naming the key; Object.prototype stays clean', () => {
    const ok = cfg('proto-ok.yaml', 'seeds: [0]\n');
    const polluted = () => Object.prototype.hasOwnProperty.call(Object.prototype, 'x') || Object.prototype.hasOwnProperty.call(Object.prototype, 'epochs');
    const problem = 'not a config key (__proto__, constructor and prototype would change every object); remove it';
    try {
      expect(() => load(ok, ['__proto__.x=1'])).toThrow(`--set __proto__.x=1: __proto__: ${problem}`);
      expect(() => load(ok, ['unlearning.__proto__.epochs=1'])).toThrow(`--set unlearning.__proto__.epochs=1: unlearning.__proto__: ${problem}`);
      expect(() => load(ok, ['constructor.prototype.x=1'])).toThrow(`--set constructor.prototype.x=1: constructor: ${problem}`);
      expect(() => load(ok, ['unlearning={__proto__: {x: 1}}'])).toThrow(`--set unlearning={__proto__: {x: 1}}: unlearning.__proto__: ${problem}`);
      const top = cfg('proto-top.yaml', '__proto__:\n  x: 1\n');
      expect(() => load(top)).toThrow(`${top}: __proto__: ${problem}`);
      const deep = cfg('proto-deep.yaml', 'methods:\n  - name: npo\n    hyperparameters: { constructor: 1 }\n');
      expect(() => load(deep)).toThrow(`${deep}: methods[0].hyperparameters.constructor: ${problem}`);
      const parent = cfg('proto-parent.yaml', 'model: { prototype: { x: 1 } }\n');
      const child = cfg('proto-child.yaml', 'extends: ./proto-parent.yaml\n');
      expect(() => load(child)).toThrow(`${parent}: model.prototype: ${problem}`);
      expect(polluted()).toBe(false);
    } finally {
      // Keep a failure here from leaking into the other tests of this worker.
      delete (Object.prototype as Record<string, unknown>).x;
      delete (Object.prototype as Record<string, unknown>).epochs;
    }
  });

  test('a plugin method whose name is not one path segment is refused before any work', async () => {
    const plugin = join(dir, 'escape.mts');
    writeFileSync(
      plugin,
      `import { defineMethod } from ${JSON.stringify(join(ROOT, 'src', 'methods', 'api.ts'))};\n` +
        "export default defineMethod({ name: '../../escape', description: 'a folder name that climbs', hyperparameters: {}, streams: ['forget'], loss: () => { throw new Error('never'); } });\n",
    );
    const f = cfg('escape.yaml', "plugins: [./escape.mts]\nmethods: [{ name: '../../escape' }]\n");
    await expect(prepare(f)).rejects.toThrow(
      `${f}: methods[0].name: method "../../escape" cannot name a model folder; rename it (in its plugin) to letters, digits, dots, dashes and underscores`,
    );
  });
});

describe('an empty config', () => {
  test("is the default run: every default of the schema is what configs/default.yaml documents (jobs, methods, …)", () => {
    const empty = cfg('empty.yaml', '');
    const { name, ...defaults } = load(empty).config;
    expect(name).toBe('empty');
    const { name: defaultName, ...documented } = load(join(ROOT, 'configs', 'default.yaml')).config;
    expect(defaultName).toBe('default');
    expect(defaults).toEqual(documented);
    expect(defaults.jobs).toBe(2);
    expect(defaults.methods.map((m) => m.name)).toEqual(['ga', 'gd', 'kl', 'npo', 'npo', 'simnpo', 'idk', 'dpo', 'retain_ft', 'rmu', 'scrub', 'undial', 'llmu', 'sku']);
    // A config that lists its own methods runs those alone.
    expect(load(cfg('one-method.yaml', 'methods: [{ name: ga }]\n')).config.methods.map((m) => m.name)).toEqual(['ga']);
  });
});

describe('extends and --set', () => {
  test('mappings merge, lists are replaced, the name is not inherited, relative plugin paths resolve per file', () => {
    cfg('parent.yaml', {
      name: 'parent', seeds: [0, 1, 2], plugins: ['./plugins/x.ts'],
      model: { preset: 'tiny', recipes: { base: { epochs: 3, lr: 0.01 } } },
    });
    const child = cfg('child.yaml', { extends: './parent.yaml', seeds: [5], model: { recipes: { base: { epochs: 7 } } } });
    const c = load(child).config;
    expect(c.name).toBe('child');
    expect(c.seeds).toEqual([5]);
    expect(c.model.preset).toBe('tiny');
    expect(c.model.recipes.base).toEqual({ epochs: 7, lr: 0.01, batch_size: 16 });
    expect(c.plugins).toEqual([join(dir, 'plugins', 'x.ts')]);
    expect('extends' in c).toBe(false);
  });

  test("an error in an extended file names that file; a --set error names the --set", () => {
    const parent = cfg('bad-parent.yaml', 'unlearning: { epochs: many }\n');
    const child = cfg('bad-child.yaml', 'extends: bad-parent.yaml\nseeds: [1]\n');
    expect(() => load(child)).toThrow(`${parent}: unlearning.epochs: expected a number, got the string "many"`);
    const ok = cfg('ok.yaml', 'seeds: [1]\n');
    expect(() => load(ok, ['unlearning.epochs=-2'])).toThrow('--set unlearning.epochs=-2: unlearning.epochs: expected a positive number, got -2');
    expect(() => load(ok, ['unlearning.epochs'])).toThrow('--set unlearning.epochs: expected key.path=value, e.g. --set unlearning.lr=1e-4');
  });

  test('--set parses values as YAML and addresses list items', () => {
    const f = cfg('sets.yaml', 'methods:\n  - name: ga\n  - name: npo\n');
    const c = load(f, ['seeds=[3, 4]', 'methods[1].hyperparameters.beta=0.5', 'methods.0.lr=2e-4', 'eval.max_new_tokens=null']).config;
    expect(c.seeds).toEqual([3, 4]);
    expect(c.methods[1].hyperparameters).toEqual({ beta: 0.5 });
    expect(c.methods[0].lr).toBe(2e-4);
    expect(c.eval.max_new_tokens).toBeNull();
  });

  test('an extends cycle is an error', () => {
    cfg('cycle-a.yaml', 'extends: cycle-b.yaml\n');
    const b = cfg('cycle-b.yaml', 'extends: cycle-a.yaml\n');
    expect(() => load(b)).toThrow(/extends: .*cycle-b\.yaml is already part of the extends chain \(a cycle\)/);
  });
});

describe('sweeps, names and keys', () => {
  const sweep = {
    name: 'sweep',
    forget_splits: ['forget05', 'forget10'],
    seeds: [0, 1],
    methods: [{ name: 'npo', hyperparameters: { beta: [0.1, 0.5], alpha: 1 }, lr: [1e-4, 2e-4] }, { name: 'ga' }, { name: 'ga', epochs: 3 }],
  };

  test('lists expand into the cartesian product; names carry the swept values, seed and split', async () => {
    const p = await prepare(cfg('sweep.yaml', sweep));
    const unlearned = p.plan.stages.filter((s) => s.kind === 'unlearn').map((s) => s.id.slice('train:'.length));
    // npo: 2 betas × 2 lrs; ga twice (told apart by the fixed epochs); each × 2 seeds × 2 splits.
    expect(unlearned).toHaveLength((4 + 2) * 2 * 2);
    expect(unlearned).toContain('npo-beta0.1-lr0.0001-s0-forget05');
    expect(unlearned).toContain('npo-beta0.5-lr0.0002-s1-forget10');
    expect(unlearned).toContain('ga-s0-forget10');
    expect(unlearned).toContain('ga-epochs3-s1-forget05');
    const npo = p.plan.stages.find((s) => s.id === 'train:npo-beta0.5-lr0.0002-s1-forget10')!;
    const spec = npo.spec as { hyperparameters: unknown; optimizer: unknown; seed: number; split: string; meta: { group: string; hyperparameters: unknown } };
    expect(spec.hyperparameters).toEqual({ beta: 0.5, alpha: 1, gamma: 1 });
    expect(spec.optimizer).toEqual({ type: 'adamw', lr: 2e-4, weightDecay: 0 });
    expect([spec.seed, spec.split]).toEqual([1, 'forget10']);
    expect(spec.meta.group).toBe('npo-beta0.5-lr0.0002-forget10');
    expect(spec.meta.hyperparameters).toEqual({ beta: 0.5, alpha: 1, gamma: 1, lr: 2e-4 });
    // Gold per split; every model evaluated on its splits, gold's evaluation an input of the others'.
    const ids = p.plan.stages.map((s) => s.id);
    expect(ids).toContain('train:gold-forget05');
    expect(ids).toContain('eval:target:clear-forget05');
    expect(p.plan.stages.find((s) => s.id === 'eval:ga-s0-forget10:clear-forget10')!.deps).toEqual(['train:ga-s0-forget10', 'eval:gold-forget10:clear-forget10']);
  });

  test('modality is an unlearning setting: a list sweeps it and names the model; target and gold take every modality', async () => {
    const p = await prepare(cfg('modality.yaml', { name: 'modality', methods: [{ name: 'npo', modality: ['text', 'vision'] }, { name: 'ga', face_names: true }] }));
    const spec = (id: string) => p.plan.stages.find((s) => s.id === id)!.spec as { modality?: string; faceNames?: boolean; meta: { modality: string | null; group: string } };
    expect(p.plan.stages.filter((s) => s.kind === 'unlearn').map((s) => s.id)).toEqual(['train:npo-text-s0-forget10', 'train:npo-vision-s0-forget10', 'train:ga-s0-forget10']);
    expect(spec('train:npo-text-s0-forget10')).toMatchObject({ modality: 'text', faceNames: false, meta: { modality: 'text', group: 'npo-text-forget10' } });
    expect(spec('train:npo-vision-s0-forget10')).toMatchObject({ modality: 'vision', faceNames: false, meta: { modality: 'vision' } });
    // The settings' default (joint), face names only where the entry opts in.
    expect(spec('train:ga-s0-forget10')).toMatchObject({ modality: 'joint', faceNames: true, meta: { modality: 'joint' } });
    for (const id of ['train:target', 'train:gold-forget10']) {
      expect(spec(id).modality).toBeUndefined();
      expect(spec(id).meta.modality).toBeNull();
    }
    // The unlearning modality enters only the unlearning runs' keys.
    const keys = async (sets: string[]) => new Map((await prepare(cfg('modality-keys.yaml', { name: 'mk', methods: [{ name: 'ga' }] }), sets)).plan.stages.map((s) => [s.id, s.key]));
    const [joint, text] = [await keys([]), await keys(['unlearning.modality=text'])];
    expect([...joint].filter(([id, k]) => text.get(id) !== k).map(([id]) => id)).toEqual(['train:ga-s0-forget10', 'eval:ga-s0-forget10:clear-forget10', 'eval:ga-s0-forget10:tofu-forget10']);
  });

  test('a method with several entries names each run by every value its entry gives, so none reads as the plain defaults', async () => {
    const p = await prepare(cfg('two-npo.yaml', { name: 'two-npo', methods: [{ name: 'npo', modality: ['text', 'joint'] }, { name: 'npo', modality: 'joint', hyperparameters: { alpha: 3 } }, { name: 'ga' }] }));
    expect(p.plan.stages.filter((s) => s.kind === 'unlearn').map((s) => s.id)).toEqual(['train:npo-text-s0-forget10', 'train:npo-joint-s0-forget10', 'train:npo-alpha3-joint-s0-forget10', 'train:ga-s0-forget10']);
  });

  test('the top-level modality of earlier versions is refused with where it went', () => {
    const f = cfg('old-modality.yaml', 'modality: text\n');
    expect(() => load(f)).toThrow(
      `${f}: modality: target and gold now train on every modality the dataset has; set what the unlearning sees as unlearning.modality or in a method entry (a list sweeps it)`,
    );
  });

  test('frozen sweeps only with a list of lists; lora values name as rank/alpha', () => {
    expect(nameValue(['vision.', 'projector.'])).toBe('vision.+projector.');
    expect(nameValue({ rank: 8, alpha: 16, targets: ['lm.*'] })).toBe('r8a16');
    expect(nameValue(null)).toBe('none');
  });

  test('the same input gives the same resolved config and keys; key order and defaults spelled out do not matter', async () => {
    const a = await prepare(cfg('stable-a.yaml', sweep));
    const b = await prepare(cfg('stable-a.yaml', sweep));
    expect(a.plan.stages.map((s) => [s.id, s.key])).toEqual(b.plan.stages.map((s) => [s.id, s.key]));
    // Same content, keys reordered and a default written out: identical keys.
    const reordered = { methods: sweep.methods, seeds: sweep.seeds, forget_splits: sweep.forget_splits, name: 'sweep', unlearning: { modality: 'joint' } };
    const c = await prepare(cfg('stable-c.yaml', reordered));
    expect(c.plan.stages.map((s) => s.key)).toEqual(a.plan.stages.map((s) => s.key));
    // The resolved YAML: every default spelled out, the same text for the same content.
    const body = (y: string) => y.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    const yamlA = resolvedYaml(a.loaded, []);
    expect(resolvedYaml(b.loaded, [])).toBe(yamlA);
    expect(body(resolvedYaml(c.loaded, []))).toBe(body(yamlA));
    expect(yamlA).toContain(`# resolved from ${a.loaded.file}`);
    expect(load(cfg('stable-y.yaml', yamlA)).config).toEqual(a.loaded.config); // it loads back as itself
    expect(body(yamlA)).toContain('  ds_size: 300\n');
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":0}]},"b":1}');
    expect(stageKey('x', { a: 1, b: 2 }, {})).toBe(stageKey('x', { b: 2, a: 1 }, {}));
  });

  test('a changed hyperparameter changes the keys of exactly the runs it enters and their evaluations', async () => {
    const keys = async (sets: string[]) => new Map((await prepare(cfg('change.yaml', sweep), sets)).plan.stages.map((s) => [s.id, s.key]));
    const a = await keys([]);
    const changedBy = async (sets: string[]) => {
      const b = await keys(sets);
      expect([...b.keys()]).toEqual([...a.keys()]);
      return [...a].filter(([id, k]) => b.get(id) !== k).map(([id]) => id);
    };
    // npo's alpha is fixed (not swept), so names stay; all 16 npo runs and their 32 evaluations (clear, tofu) change.
    const changed = await changedBy(['methods[0].hyperparameters.alpha=2']);
    expect(changed).toHaveLength(48);
    expect(changed.every((id) => id.includes(':npo-'))).toBe(true);
    // An upstream change (the target recipe) reaches every stage built on the target, nothing else.
    const changedT = await changedBy(['model.recipes.target.lr=5e-4']);
    expect(changedT).toContain('train:target');
    expect(changedT).toContain('eval:target:clear-forget10');
    expect(changedT).toContain('train:ga-s0-forget10');
    for (const id of ['data', 'train:base', 'train:gold-forget10', 'eval:gold-forget10:clear-forget10', 'eval:base:clear-forget10']) expect(changedT).not.toContain(id);
    // Execution settings are not part of any key.
    expect(await changedBy(['threads=1', 'jobs=2'])).toEqual([]);
    // Nor where the stages run: a run moved to Slurm reuses what ran locally.
    expect(await changedBy(['executor=slurm', 'slurm.partition=gpu', 'slurm.train={gres: "gpu:1", mem: 32G, extra_args: [--exclusive]}'])).toEqual([]);
  });
});

describe('the shipped configs', () => {
  test.each(['default', 'smoke', 'clear', 'clear-llava'])('configs/%s.yaml validates and plans', async (name) => {
    const p = await prepareRun({ config: join(ROOT, 'configs', `${name}.yaml`), out: join(dir, 'runs', name) });
    expect(p.loaded.config.name).toBe(name);
    expect(formatPlan(p)).toContain(`run ${name} → ${join(dir, 'runs', name)}`);
  });

  test('configs/clear-llava.yaml fine-tunes llava-1.5-7b-hf with the CLEAR reference recipe and freezes its vision tower', async () => {
    const p = await prepareRun({ config: join(ROOT, 'configs', 'clear-llava.yaml'), out: join(dir, 'runs', 'cl') });
    const c = p.loaded.config;
    expect([c.model.hf, c.model.revision]).toEqual(['llava-hf/llava-1.5-7b-hf', 'main']);
    for (const r of [c.model.recipes.target, c.model.recipes.gold]) {
      expect(r).toMatchObject({ epochs: 3, lr: 1e-5, batch_size: 4, grad_accumulation: 2, weight_decay: 0.01, frozen: ['model.vision_tower.'], lora: { rank: 8, alpha: 32 } });
    }
    expect([c.unlearning.lr, c.unlearning.epochs, c.unlearning.frozen]).toEqual([1e-5, 5, ['model.vision_tower.']]);
  });

  test('the default run has at least six methods and forget10', async () => {
    const p = await prepareRun({ config: join(ROOT, 'configs', 'default.yaml'), out: join(dir, 'runs', 'd') });
    expect(new Set(p.loaded.config.methods.map((m) => m.name)).size).toBeGreaterThanOrEqual(6);
    expect(p.loaded.config.forget_splits).toEqual(['forget10']);
    expect(readFileSync(join(ROOT, 'package.json'), 'utf8')).toContain('"start": "node bin/clearbench.js run configs/default.yaml"');
  });
});
