/**
 * Method plugins: discovery of methods/, plugins from other paths, the one-line errors of bad plugins,
 * `clearbench methods`, and `clearbench new-method NAME` whose generated method and test pass (the test is
 * generated into a scratch directory and run there with jest, then removed).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MethodRegistry } from '../../src/methods/registry.ts';
import { validateHyperparameters, type AnyMethod, type HyperSpec } from '../../src/methods/api.ts';
import { checkMethodName, importPath, writeMethodTemplate } from '../../src/methods/template.ts';
import { listingText, methodListing, type MethodListing } from '../../src/cli/commands/methods.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Inside the repository (so node_modules resolve) but outside methods/ and test/ (so no other run sees it).
const SCRATCH = join(ROOT, 'test-artifacts', `plugins-${process.pid}`);
const API = join(ROOT, 'src', 'methods', 'api.ts');

function run(cmd: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, cmd, { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const cli = (...args: string[]) => run([join(ROOT, 'bin', 'clearbench.js'), ...args]);
const cliIn = (cwd: string, ...args: string[]) => run([join(ROOT, 'bin', 'clearbench.js'), ...args], cwd);

/** The same, without blocking (so two slow children can share the cores). */
function runAsync(cmd: string[], cwd = ROOT, file = process.execPath): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(file, cmd, { cwd });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code, out }));
  });
}

/** A plugin file in the scratch directory. */
function plugin(file: string, text: string): string {
  const path = join(SCRATCH, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}
const validPlugin = (name: string) =>
  `import { defineMethod, losses } from '${API}';\n` +
  `export const ${name} = defineMethod({ name: '${name}', description: 'test plugin', hyperparameters: { w: { type: 'number', default: 2, help: 'weight' } }, streams: ['forget'], loss: ({ h, s }) => losses.tokenCE(s.forget!.logits, s.forget!.labels).mul(-h.w) });\n`;

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
});
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

describe('discovery', () => {
  test('every file in methods/ loads one method named after the file, with valid defaults', async () => {
    const r = await MethodRegistry.discover();
    const files = readdirSync(join(ROOT, 'methods')).filter((f) => f.endsWith('.ts')).sort();
    expect(r.entries().map((e) => e.source).sort()).toEqual(files.map((f) => `methods/${f}`));
    for (const { def, source } of r.entries()) {
      expect(source).toBe(`methods/${def.name}.ts`);
      expect(def.description.length).toBeGreaterThan(10);
      expect(() => validateHyperparameters(def)).not.toThrow();
      for (const spec of Object.values(def.hyperparameters) as HyperSpec[]) expect(spec.help.length).toBeGreaterThan(3);
    }
    expect(new Set(r.names()).size).toBe(files.length);
    for (const name of ['ga', 'gd', 'scrub', 'rmu', 'sku', 'undial']) expect(r.names()).toContain(name);
  });

  test('a plugin from a path outside methods/, relative to the config directory or absolute', async () => {
    const path = plugin('elsewhere/my_plugin.ts', validPlugin('my_plugin'));
    const rel = await MethodRegistry.discover(['./elsewhere/my_plugin.ts'], SCRATCH);
    expect(rel.get('my_plugin').hyperparameters).toEqual({ w: { type: 'number', default: 2, help: 'weight' } });
    expect(rel.entries().find((e) => e.def.name === 'my_plugin')!.source).toBe('./elsewhere/my_plugin.ts');
    const abs = await MethodRegistry.discover([path]);
    expect(abs.names()).toContain('my_plugin');
    expect(abs.names()).toContain('ga');
  });

  test('bad plugins end in one documented line', async () => {
    const noExport = plugin('bad/no_export.ts', 'export const x = 1;\n');
    const syntax = plugin('bad/syntax.ts', 'export default {{;\n');
    const dup = plugin('bad/dup.ts', validPlugin('ga'));
    await expect(MethodRegistry.discover([noExport])).rejects.toThrow(`plugin '${noExport}' exports no method definition; export default defineMethod({...})`);
    await expect(MethodRegistry.discover([syntax])).rejects.toThrow(new RegExp(`^cannot load method plugin '${syntax}': [^\n]+$`));
    await expect(MethodRegistry.discover([join(SCRATCH, 'absent.ts')])).rejects.toThrow(/^cannot load method plugin '.*absent\.ts': .+; check the path or install the package$/);
    await expect(MethodRegistry.discover(['clearbench-no-such-plugin'])).rejects.toThrow(/^cannot load method plugin 'clearbench-no-such-plugin': .+; check the path or install the package$/);
    await expect(MethodRegistry.discover([dup])).rejects.toThrow(`method 'ga' is defined twice (methods/ga.ts and ${dup}); rename one`);
    // Through the CLI (tsx, as a user runs it): exactly one line on stderr, exit code 1.
    const r = cli('methods', '--plugin', syntax);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^clearbench: cannot load method plugin '.*syntax\.ts': [^\n]+; fix the syntax error in the plugin\n$/);
    expect(r.stdout).toBe('');
  });

  test('a syntax error names the file, line and column (1-based) and the parser\'s message, for TypeScript and JavaScript', () => {
    const source = 'const a = 1;\nexport default {\n  b: ) 2,\n};\n';
    for (const [file, message] of [['syntax/deep.ts', 'Unexpected ")"'], ['syntax/deep.mjs', "Unexpected token ')'"]]) {
      const path = plugin(file, source);
      const r = cli('methods', '--plugin', path);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`clearbench: cannot load method plugin '${path}': syntax error at ${path}:3:6: ${message}; fix the syntax error in the plugin\n`);
    }
  });
});

describe('clearbench methods', () => {
  test('--json lists every method with streams, reference, schedule and hyperparameters with defaults and help', async () => {
    const extra = plugin('listed/listed_plugin.ts', validPlugin('listed_plugin'));
    const r = cli('methods', '--json', '--plugin', extra);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as MethodListing[];
    const registry = await MethodRegistry.discover([extra]);
    expect(listed.map((m) => m.name)).toEqual(registry.names());
    const byName = Object.fromEntries(listed.map((m) => [m.name, m]));
    for (const name of registry.names()) {
      const def: AnyMethod = registry.get(name);
      expect(byName[name].description).toBe(def.description);
      expect(byName[name].hyperparameters).toEqual(def.hyperparameters);
      expect(byName[name].reference).toBe(!!def.reference);
    }
    expect(byName.listed_plugin.source).toBe(extra);
    expect(byName.ga).toMatchObject({ streams: ['forget'], reference: false, schedule: null, hyperparameters: {} });
    expect(byName.sku).toMatchObject({ streams: ['forget', 'retain', 'forget_other'], reference: true, finalize: true });
    expect(byName.rmu).toMatchObject({ restrictsTrainable: true, hyperparameters: { alpha: { type: 'number', default: 1200 } } });
    expect(byName.scrub.schedule).toEqual([
      { first: 1, last: 2, phases: [{ name: 'max', streams: ['forget'] }, { name: 'min', streams: ['retain'], over: 'retain' }] },
      { first: 3, last: null, phases: [{ name: 'min', streams: ['retain'], over: 'retain' }] },
    ]);
  });

  test('text output names each method, its source, streams and hyperparameters', async () => {
    const r = await MethodRegistry.discover();
    const text = (name: string) => listingText(methodListing(r.get(name), `methods/${name}.ts`));
    expect(text('scrub')).toContain('scrub  (methods/scrub.ts)\n');
    expect(text('scrub')).toContain('  epoch 1–2: max [forget] → min [retain]\n  epoch 3+: min [retain]\n');
    expect(text('scrub')).toMatch(/\n {4}temperature {3}number = 4 \(≥ 0\.000001\) {2}softmax temperature T/);
    expect(text('ga')).toMatch(/^ga {2}\(methods\/ga\.ts\)\n {2}Gradient ascent[^\n]*\n {2}streams: forget\n {2}hyperparameters: none$/);
  });
});

describe('clearbench new-method', () => {
  test('names are validated; import paths are relative', () => {
    for (const bad of ['Demo', '1x', 'my-method', '', 'a'.repeat(65), '../x']) expect(() => checkMethodName(bad)).toThrow(`invalid method name '${bad}'`);
    for (const good of ['demo', 'my_method2', 'x']) expect(() => checkMethodName(good)).not.toThrow();
    expect(importPath('/a/methods', '/a/src/methods/api.ts')).toBe('../src/methods/api.ts');
    expect(importPath('/a', '/a/src/api.ts')).toBe('./src/api.ts');
  });

  test('writes a template and its test that type-check and pass; refuses to overwrite or to clash', async () => {
    const dir = join(SCRATCH, 'gen', 'methods');
    const testDir = join(SCRATCH, 'gen', 'test', 'methods');
    // A name of its own, so a user's methods/demo.ts (from `clearbench new-method demo`) does not clash.
    const name = `demo_${process.pid}`;
    const made = cli('new-method', name, '--dir', dir, '--test-dir', testDir);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const methodFile = join(dir, `${name}.ts`);
    const testFile = join(testDir, `${name}.test.ts`);
    // Absolute: a config anywhere can list it (relative entries are read from the config's directory).
    expect(made.stdout).toContain(`plugins: [${methodFile}]`);
    const source = readFileSync(methodFile, 'utf8');
    // Every part of the plugin API is explained in the template.
    for (const feature of ['hyperparameters', 'streams', 'reference', 'hiddenLayers', 'phases', 'trainable', 'loss:', 'metrics', 'rng()', 'constant(', 'finalize', 'labels', 'mask']) expect(source).toContain(feature);

    // Never overwrite; a second run fails on one line and leaves the file as it was.
    writeFileSync(methodFile, `${source}// edited\n`);
    const again = cli('new-method', name, '--dir', dir, '--test-dir', testDir);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`clearbench: ${methodFile} exists already; choose another name or move that file away (new-method never overwrites)\n`);
    expect(readFileSync(methodFile, 'utf8')).toBe(`${source}// edited\n`);
    const clash = () => writeMethodTemplate({ name: 'scrub', dir, testDir, existing: ['ga', 'scrub'] });
    expect(clash).toThrow("a method named 'scrub' exists already; choose another name");
    expect(existsSync(join(dir, 'scrub.ts'))).toBe(false);
    expect(() => writeMethodTemplate({ name: 'My-Method', dir, testDir })).toThrow("invalid method name 'My-Method'");
    // The generated method loads as a plugin.
    const loaded = await MethodRegistry.discover([methodFile]);
    expect(loaded.get(name).streams).toEqual(['forget', 'retain']);

    // The generated files type-check under the project's compiler settings, and the generated test passes
    // under jest (both run at once).
    writeFileSync(join(SCRATCH, 'gen', 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.json', include: ['methods', 'test'] }));
    const [tsc, jest] = await Promise.all([
      runAsync([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', join(SCRATCH, 'gen')]),
      runAsync(['--experimental-vm-modules', join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--testMatch', '**/test-artifacts/plugins-*/gen/**/*.test.ts', '--', testFile]),
    ]);
    expect(tsc.out).toBe('');
    expect(tsc.code).toBe(0);
    expect(jest.out).toMatch(/Tests: +4 passed, 4 total/);
    expect(jest.code).toBe(0);
  }, 120_000);
});

describe('clearbench new-method outside the repository', () => {
  // Someone else's CommonJS project: a package.json without "type": "module" (as good as none at all).
  const project = mkdtempSync(join(tmpdir(), 'clearbench-plugin-'));
  const pkg = `${JSON.stringify({ name: 'someone-elses-project', private: true })}\n`;
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  test('writes an ES-module plugin that loads by --plugin and a config\'s plugins:, and a test command that finds and runs its test', async () => {
    writeFileSync(join(project, 'package.json'), pkg);
    const name = `outside_${process.pid}`;
    const made = cliIn(project, 'new-method', name, '--dir', 'plugins', '--test-dir', 'tests');
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    // .mts is an ES module whatever the package says; the user's package.json is left alone.
    const methodFile = join(project, 'plugins', `${name}.mts`);
    const testFile = join(project, 'tests', `${name}.test.mts`);
    expect(existsSync(methodFile) && existsSync(testFile)).toBe(true);
    expect(readdirSync(project).sort()).toEqual(['package.json', 'plugins', 'tests']);
    expect(readFileSync(join(project, 'package.json'), 'utf8')).toBe(pkg);
    expect(made.stdout).toContain(`outside methods/, list it in a config: plugins: [${methodFile}]\n`);

    const listed = cliIn(project, 'methods', '--plugin', `./plugins/${name}.mts`);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${name}  (./plugins/${name}.mts)\n`);

    // A config that lists it, as the printed hint says (a dry run loads every plugin and plans the method).
    writeFileSync(join(project, 'bench.yaml'), `plugins: [${methodFile}]\nmethods: [{ name: ${name} }]\ndata: { source: synthetic }\n`);
    const planned = cliIn(project, 'run', 'bench.yaml', '--out', join(project, 'run'), '--dry-run');
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain(`unlearn ${name}-s0-forget10`);

    // The printed command, run from the project directory as printed (only the fast tests, by name).
    const command = /^edit the loss, then run: (.+)$/m.exec(made.stdout)![1];
    expect(command).toContain('npm --prefix ');
    const tested = await runAsync(['-c', `${command} --ci -t 'loss value and gradient'`], project, 'sh');
    expect(tested.out).toMatch(new RegExp(`PASS .*tests/${name}\\.test\\.mts`));
    expect(tested.out).toMatch(/Tests: +1 skipped, 3 passed, 4 total/);
    expect(tested.code).toBe(0);
  }, 120_000);

  test('a hand-written .ts plugin that Node loads as CommonJS says how to make it an ES module', () => {
    writeFileSync(join(project, 'package.json'), pkg);
    const hand = join(project, 'hand', 'hand_made.ts');
    mkdirSync(dirname(hand), { recursive: true });
    writeFileSync(hand, validPlugin('hand_made'));
    const r = cliIn(project, 'methods', '--plugin', hand);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `clearbench: cannot load method plugin '${hand}': it loads as CommonJS here (no package.json with "type": "module" above it), so it cannot import the harness's ES modules; ` +
        `rename it to ${join(project, 'hand', 'hand_made.mts')} or put a package.json with {"type": "module"} in its directory\n`,
    );
  });
});
