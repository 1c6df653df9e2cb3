/**
 * `clearbench new-method NAME`: a commented, working method plugin (a weighted gradient ascent with a retain
 * NLL term) and its test in the pattern of the built-in methods' tests, so a researcher starts from something
 * that runs and passes and edits the loss from there.
 */
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { isEsmScope } from './module-scope.ts';

/** The harness's root directory (where src/, test/ and methods/ live). */
export const HARNESS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Method names are identifiers in configs and file names: lower case, digits, underscores. */
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function checkMethodName(name: string): void {
  if (!NAME.test(name)) {
    throw new UserError(`invalid method name '${name}': use a lower-case letter followed by lower-case letters, digits or underscores (e.g. my_method)`);
  }
}

/** An import specifier from a file in `fromDir` to `target` (always starting with ./ or ../, '/' separators). */
export function importPath(fromDir: string, target: string): string {
  const rel = relative(fromDir, target).split('\\').join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export function methodSource(name: string, apiImport: string): string {
  return `/**
 * ${name}: an unlearning method plugin written from the \`clearbench new-method\` template.
 *
 * As generated it is a weighted gradient ascent with a retain term (a "gradient difference"):
 *   L = −forget_weight · CE_f + retain_weight · CE_r
 * CE_f / CE_r = mean answer-token cross-entropy on the forget / retain batch. Edit the loss, the
 * hyperparameters and the description, then update the reference formula in the test next to this file.
 *
 * The harness builds one graph per step shape with the model's forward pass for every stream you ask for,
 * differentiates the loss you return and steps the optimiser. A method never touches ONNX, sessions or the
 * optimiser: it only combines tensor expressions (src/engine/graph.ts: add, sub, mul, div, neg, exp, log,
 * sum, mean, softmax, logSoftmax, detach, ...) and the loss helpers in \`losses\`.
 */
import { defineMethod, losses } from '${apiImport}';

export default defineMethod({
  // The name configs use (\`methods: [{ name: ${name} }]\`); it must be unique among all methods.
  name: '${name}',
  // One line for \`clearbench methods\`.
  description: 'Weighted gradient ascent on the forget answers with a retain NLL term (template).',

  // Hyperparameters with defaults; a config overrides them in the method's entry
  // (\`methods: [{ name: ${name}, hyperparameters: { forget_weight: 0.5 } }]\`). Values are validated before training:
  // an unknown key or a value of the wrong type or range is a one-line config error. Types:
  //   { type: 'number',  default: 0.1, min?: 0, max?: 1, help: '...' }
  //   { type: 'integer', default: 2,   min?: 0, max?: 9, help: '...' }
  //   { type: 'boolean', default: true, help: '...' }
  //   { type: 'enum',    default: 'nll', values: ['nll', 'kl'], help: '...' }
  hyperparameters: {
    forget_weight: { type: 'number', default: 1, min: 0, help: 'weight of the forget ascent term −CE_f' },
    retain_weight: { type: 'number', default: 1, min: 0, help: 'weight of the retain term CE_r' },
  },

  // Data streams of each step, each a batch aligned sample by sample with the forget batch:
  //   forget        forget prompt → its answer
  //   retain        a retain sample drawn uniformly (seeded), same modality as the forget sample
  //   idk           forget prompt → a random "I don't know" answer
  //   retain_answer forget prompt → the answer of a random retain sample
  //   forget_other  forget prompt → the answer of another forget person
  // Each stream costs a forward and backward pass: ask only for what the loss reads.
  streams: ['forget', 'retain'],

  // reference: true runs a frozen copy of the starting model in the same graph; the loss reads it as
  // s.<stream>.ref.logits and s.<stream>.ref.hidden(layer) (detached: no gradient flows into it).
  // Example (KL to the starting model on retain): losses.klDiv(r.ref.logits, r.logits, r.labels)
  // reference: true,

  // Decoder layers whose hidden states (residual stream after that layer, [B, S, d]) the loss reads as
  // s.<stream>.hidden(layer). \`model\` gives layers, dModel and vocabSize.
  // hiddenLayers: (h, model) => [Math.floor((model.layers - 1) / 2)],

  // Several passes per epoch (default: one pass named 'main' with \`streams\`). The loss sees ctx.phase.
  // Example (SCRUB): (h, epoch) => epoch < 2 ? [{ name: 'max', streams: ['forget'] }, { name: 'min', streams: ['retain'] }] : [{ name: 'min', streams: ['retain'] }]
  // phases: (h, epoch) => [{ name: 'main', streams: ['forget', 'retain'] }],

  // Restrict which parameters train (on top of the run's frozen modules; the vision encoder is frozen by
  // default). Names look like lm.blocks.0.mlp.fc1.weight; with LoRA the adapters of a layer train when its
  // .weight name passes.
  // trainable: (param, h, model) => param.startsWith('lm.blocks.'),

  // The loss, a scalar tensor, or { loss, metrics } to log named scalars with every step (train_log.jsonl).
  // ctx: h (validated hyperparameters), phase, s (the streams), model (layers, dModel, vocabSize),
  // constant(values, shape) (a fixed tensor in the graph), rng() (a seeded stream, the same draws every step:
  // use it for fixed random vectors, never Math.random).
  // Each stream view has: logits [B, S, V]; labels [B, S] (next-token targets aligned with the logits, −100
  // where nothing is scored: prompt, image, padding); mask [B, S] (1 on scored answer positions); hidden(l); ref.
  // losses: tokenCE (mean answer-token CE), tokenCEPerSample [B], tokenLogProbs [B, S], seqLogProb [B]
  // (Σ_t log p(y_t)), klDiv(ref, logits, labels, { temperature }), logSigmoid, mse(a, b, mask), oneHot.
  loss: ({ h, s }) => {
    const f = s.forget!;
    const r = s.retain!;
    const forget = losses.tokenCE(f.logits, f.labels);
    const retain = losses.tokenCE(r.logits, r.labels);
    return { loss: forget.mul(-h.forget_weight).add(retain.mul(h.retain_weight)), metrics: { ce_forget: forget, ce_retain: retain } };
  },

  // Runs once after training with the trained store, the starting parameters and the trained names,
  // e.g. SKU's task-vector negation. Modify store values in place.
  // finalize: ({ h, store, start, trained }) => {},
});
`;
}

export interface TestImports {
  method: string;
  methodLoss: string;
  tinyTarget: string;
  measure: string;
  unlearn: string;
}

export function methodTestSource(name: string, p: TestImports): string {
  return `/**
 * ${name}: the loss against its formula computed independently in plain TypeScript, the gradient against
 * finite differences, and the direction the method promises on a tiny trained model. Generated by
 * \`clearbench new-method\`; when you change the loss, change the reference formula here first.
 */
import { describe, expect, test } from '@jest/globals';
import method from '${p.method}';
import { unlearn } from '${p.unlearn}';
import { ceRef, lossCase } from '${p.methodLoss}';
import { tinyTarget } from '${p.tinyTarget}';
import { measure } from '${p.measure}';

describe('${name}: loss value and gradient on a fixed batch', () => {
  // lossCase evaluates the loss on fixed float64 logits (c.data: per stream logits, refLogits, labels, hidden).
  test.each([
    ['defaults', {}],
    ['other weights', { forget_weight: 0.7, retain_weight: 1.3 }],
  ])('%s: −forget_weight·CE_f + retain_weight·CE_r', async (_n, hyper) => {
    const c = lossCase(method, hyper);
    const { forget_weight, retain_weight } = c.h as { forget_weight: number; retain_weight: number };
    const f = c.data.forget!, r = c.data.retain!;
    expect(await c.value()).toBeCloseTo(-forget_weight * ceRef(f.logits, f.labels) + retain_weight * ceRef(r.logits, r.labels), 10);
    expect((await c.gradCheck()).maxRelError).toBeLessThan(1e-5);
  });

  test('an unknown hyperparameter is a clear error', () => {
    expect(() => lossCase(method, { forget_wieght: 1 })).toThrow("method '${name}' has no hyperparameter 'forget_wieght'");
  });
});

describe('${name}: direction on a tiny target model', () => {
  test('the forget NLL rises; the retain NLL is measured', async () => {
    const t = await tinyTarget();
    const [f0, r0] = [await measure(t, t.forget), await measure(t, t.retain)];
    await unlearn({ method, model: t.model, forget: t.forget, retain: t.retain, images: t.images, epochs: 3, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 } });
    const [f1, r1] = [await measure(t, t.forget), await measure(t, t.retain)];
    console.log(\`${name}: forget NLL \${f0.meanNll.toFixed(3)} → \${f1.meanNll.toFixed(3)}, retain NLL \${r0.meanNll.toFixed(3)} → \${r1.meanNll.toFixed(3)}\`);
    expect(f1.meanNll).toBeGreaterThan(f0.meanNll + 0.3);
  });
});
`;
}

/** A word for a POSIX shell: as it is when that is safe, else in single quotes. */
function shellWord(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs a generated test, from `cwd`. Under the harness's test/ folder `npm test` finds it;
 * anywhere else jest must be told where to look (--roots) and what to match, since its config only covers
 * test/**\/*.test.ts. npm --prefix runs the harness's script from another working directory.
 */
export function testCommand(testFile: string, cwd: string): string {
  const npm = resolve(cwd) === HARNESS_ROOT ? 'npm test --' : `npm --prefix ${shellWord(HARNESS_ROOT)} test --`;
  const testsDir = resolve(HARNESS_ROOT, 'test') + sep;
  if (testFile.startsWith(testsDir) && testFile.endsWith('.test.ts')) return `${npm} ${shellWord(relative(HARNESS_ROOT, testFile).split(sep).join('/'))}`;
  return `${npm} --roots ${shellWord(dirname(testFile))} --testMatch ${shellWord(`**/${basename(testFile)}`)}`;
}

export interface NewMethodOptions {
  name: string;
  /** Directory of the plugin file. */
  dir: string;
  /** Directory of its test. */
  testDir: string;
  /** Names of the methods that exist already (a new one must not clash). */
  existing?: readonly string[];
}

/**
 * The extension a TypeScript file in `dir` needs to load as an ES module: `.ts` where a package.json says
 * "type": "module" (the harness's own methods/ and test/), else `.mts`, which is an ES module anywhere, so a
 * plugin written outside the repository loads without a package.json of its own.
 */
export function esmExtension(dir: string): '.ts' | '.mts' {
  return isEsmScope(dir) ? '.ts' : '.mts';
}

/**
 * Writes <dir>/<name>.ts and <testDir>/<name>.test.ts (`.mts` and `.test.mts` outside an ES-module package;
 * each atomically); refuses to overwrite either and checks everything before writing anything. Returns the
 * two paths.
 */
export function writeMethodTemplate(o: NewMethodOptions): { method: string; test: string } {
  checkMethodName(o.name);
  if (o.existing?.includes(o.name)) throw new UserError(`a method named '${o.name}' exists already; choose another name`);
  const methodFile = resolve(o.dir, `${o.name}${esmExtension(o.dir)}`);
  const testFile = resolve(o.testDir, `${o.name}.test${esmExtension(o.testDir)}`);
  for (const f of [methodFile, testFile]) {
    if (existsSync(f)) throw new UserError(`${f} exists already; choose another name or move that file away (new-method never overwrites)`);
  }
  const src = (p: string) => resolve(HARNESS_ROOT, p);
  const from = dirname(testFile);
  try {
    writeFileAtomic(methodFile, methodSource(o.name, importPath(dirname(methodFile), src('src/methods/api.ts'))));
  } catch (err) {
    throw new UserError(`cannot write ${methodFile} (${(err as NodeJS.ErrnoException).code ?? String(err)}); choose a writable --dir`);
  }
  const test = methodTestSource(o.name, {
    method: importPath(from, methodFile),
    methodLoss: importPath(from, src('test/helpers/method-loss.ts')),
    tinyTarget: importPath(from, src('test/helpers/tiny-target.ts')),
    measure: importPath(from, src('test/helpers/measure.ts')),
    unlearn: importPath(from, src('src/methods/unlearn.ts')),
  });
  try {
    writeFileAtomic(testFile, test);
  } catch (err) {
    rmSync(methodFile, { force: true }); // both files or neither
    throw new UserError(`cannot write ${testFile} (${(err as NodeJS.ErrnoException).code ?? String(err)}); choose a writable --test-dir`);
  }
  return { method: methodFile, test: testFile };
}
