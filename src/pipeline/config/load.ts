/**
 * Loads an experiment config: reads the YAML file and the chain of files it `extends` (merged deeply,
 * lists replaced), applies `--set key.path=value` overrides (values parsed as YAML) and validates the
 * result against the schema, filling defaults. Every error is one line naming the file (or the --set)
 * that holds the offending key, the key path and what was expected.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type z } from 'zod';
import { UserError } from '../../util/errors.ts';
import { configSchema, type PipelineConfig } from './schema.ts';
import { type KeyPath, deepMerge, depthPresent, forbiddenKeyPath, formatPath, getPath, isForbiddenKey, isObject, parsePath, setPath } from './paths.ts';

/** One source of config values, in increasing precedence. */
interface Layer {
  label: string;
  raw: Record<string, unknown>;
}

export interface LoadedConfig {
  /** Absolute path of the config file given. */
  file: string;
  config: PipelineConfig;
  /** The file (or --set) that sets the deepest part of `path`: where an error about that key should point. */
  origin(path: readonly PropertyKey[]): string;
  /** A UserError `<origin>: <key path>: <problem>`. */
  error(path: readonly PropertyKey[], problem: string): UserError;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return String(v);
}

function readYaml(file: string, label: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${label}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new UserError(`${label}: not valid YAML (${(err as Error).message.split('\n')[0]}); fix the syntax`);
  }
  if (value === null || value === undefined) return {};
  if (!isObject(value)) throw new UserError(`${label}: must be a YAML mapping of config keys (found ${describeValue(value)}); see configs/default.yaml`);
  const bad = forbiddenKeyPath(value);
  if (bad) throw new UserError(`${label}: ${formatPath(bad)}: ${FORBIDDEN}`);
  return value;
}

/** Relative plugin paths are resolved against the directory of the file that lists them. */
function resolvePlugins(raw: Record<string, unknown>, baseDir: string): void {
  if (!Array.isArray(raw.plugins)) return;
  raw.plugins = raw.plugins.map((p) => (typeof p === 'string' && p.startsWith('.') ? resolve(baseDir, p) : p));
}

/** The file and its `extends` ancestors, root ancestor first. */
function fileLayers(file: string): Layer[] {
  const chain: Layer[] = [];
  const seen = new Set<string>();
  let current: string | null = file;
  while (current) {
    if (seen.has(current)) throw new UserError(`${chain[0].label}: extends: ${current} is already part of the extends chain (a cycle); remove one of the extends`);
    seen.add(current);
    const raw = readYaml(current, current);
    const ext = raw.extends;
    delete raw.extends;
    if (chain.length) delete raw.name; // a run's name is never inherited: it names the run directory
    resolvePlugins(raw, dirname(current));
    chain.unshift({ label: current, raw });
    if (ext === undefined) current = null;
    else if (typeof ext !== 'string' || !ext) throw new UserError(`${current}: extends: expected the path of another config file, got ${describeValue(ext)}`);
    else current = isAbsolute(ext) ? ext : resolve(dirname(current), ext);
  }
  return chain;
}

const FORBIDDEN = 'not a config key (__proto__, constructor and prototype would change every object); remove it';

interface SetOverride {
  label: string;
  path: KeyPath;
  value: unknown;
}

function parseSets(sets: readonly string[]): SetOverride[] {
  return sets.map((text) => {
    const eq = text.indexOf('=');
    const label = `--set ${text}`;
    if (eq <= 0) throw new UserError(`${label}: expected key.path=value, e.g. --set unlearning.lr=1e-4`);
    let value: unknown;
    try {
      value = parseYaml(text.slice(eq + 1));
    } catch (err) {
      throw new UserError(`${label}: the value is not valid YAML (${(err as Error).message.split('\n')[0]}); quote it`);
    }
    const path = parsePath(text.slice(0, eq).trim());
    const bad = path.findIndex(isForbiddenKey);
    if (bad >= 0) throw new UserError(`${label}: ${formatPath(path.slice(0, bad + 1))}: ${FORBIDDEN}`);
    const badValue = forbiddenKeyPath(value, path);
    if (badValue) throw new UserError(`${label}: ${formatPath(badValue)}: ${FORBIDDEN}`);
    if (path[0] === 'extends') throw new UserError(`${label}: extends cannot be set from the command line; edit the config file`);
    if (path[0] === 'plugins' && Array.isArray(value)) {
      const holder = { plugins: value };
      resolvePlugins(holder, process.cwd());
      value = holder.plugins;
    } else if (path[0] === 'plugins' && path.length === 2 && typeof value === 'string' && value.startsWith('.')) {
      value = resolve(value);
    }
    return { label, path, value: value === undefined ? null : value };
  });
}

const isPrefix = (a: readonly PropertyKey[], b: readonly PropertyKey[]) => a.length <= b.length && a.every((x, i) => x === b[i]);

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'null',
};

function expectation(iss: z.core.$ZodIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      return EXPECTED[iss.expected] ?? String(iss.expected);
    case 'invalid_value':
      return `one of ${iss.values.map((v) => String(v)).join(', ')}`;
    case 'too_small': {
      const m = Number(iss.minimum);
      if (iss.origin === 'array') return `a list of at least ${m} item${m === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return 'a non-empty string';
      if (m === 0 && !iss.inclusive) return 'a positive number';
      return `a number ${iss.inclusive ? '≥' : '>'} ${m}`;
    }
    case 'too_big': {
      const m = Number(iss.maximum);
      if (iss.origin === 'array') return `a list of at most ${m} items`;
      return `a number ${iss.inclusive ? '≤' : '<'} ${m}`;
    }
    default:
      return iss.message.replace(/^expected /, '');
  }
}

/** Top-level keys of earlier versions, with where their meaning went. */
const MOVED_KEYS: Record<string, string> = {
  // Target and gold train on every modality the dataset has (CLEAR); the modality is what the unlearning sees.
  modality:
    'target and gold now train on every modality the dataset has; set what the unlearning sees as unlearning.modality or in a method entry (a list sweeps it)',
};

export function loadConfig(file: string, opts: { sets?: readonly string[] } = {}): LoadedConfig {
  const abs = resolve(file);
  const layers = fileLayers(abs);
  const sets = parseSets(opts.sets ?? []);
  let merged: Record<string, unknown> = {};
  for (const l of layers) merged = deepMerge(merged, l.raw) as Record<string, unknown>;
  // Overrides apply to the merged config, so a list item can be changed without restating the list.
  for (const s of sets) setPath(merged, s.path, s.value, s.label);
  merged.name ??= basename(abs, extname(abs));

  const origin = (path: readonly PropertyKey[]): string => {
    for (let i = sets.length - 1; i >= 0; i--) if (isPrefix(sets[i].path, path) || isPrefix(path, sets[i].path)) return sets[i].label;
    let best = layers.length - 1; // the config file given
    let bestDepth = 0;
    layers.forEach((l, i) => {
      const d = depthPresent(l.raw, path);
      if (d > 0 && d >= bestDepth) {
        best = i;
        bestDepth = d;
      }
    });
    return layers[best].label;
  };
  const error = (path: readonly PropertyKey[], problem: string) => new UserError(`${origin(path)}: ${formatPath(path)}: ${problem}`);

  for (const [key, why] of Object.entries(MOVED_KEYS)) if (key in merged) throw error([key], why);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const iss = parsed.error.issues[0];
    if (iss.code === 'unrecognized_keys') {
      throw error([...iss.path, iss.keys[0]], iss.message);
    }
    const value = getPath(merged, iss.path);
    const want = expectation(iss);
    throw error(iss.path, value === undefined ? `missing; expected ${want}` : `expected ${want}, got ${describeValue(value)}`);
  }
  const m = parsed.data.model;
  const adopted = [...(m.target ? [['model', 'target']] : []), ...Object.keys(m.gold).map((split) => ['model', 'gold', split])];
  // A published fine-tune is compared with its base (tokenizer, architecture), and the base row needs one.
  if (adopted.length && m.hf === null) throw error(adopted[0], 'a published fine-tune needs the model it was fine-tuned from: set model.hf to that base');
  return { file: abs, config: parsed.data, origin, error };
}

export type { KeyPath };
