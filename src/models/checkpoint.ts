/**
 * Model checkpoints: a directory holding
 *   model.safetensors   every parameter as F32 (LoRA adapters merged into their base weights),
 *   config.json         ModelConfigFile: the architecture, the preset name and how the model was trained,
 *   tokenizer.json      the Hugging Face tokenizer file.
 * Loading reproduces every parameter bit-exactly.
 *
 * Saving is atomic for the directory as a whole: the files go into a hidden temporary sibling, which then
 * takes the directory's place (the old directory is first renamed aside, then removed). Files in the
 * directory that are not part of the checkpoint (e.g. a training log) are carried over. An interruption
 * between the two renames leaves the old directory aside; every entry point here renames it back first.
 * One process saves a given checkpoint at a time.
 */
import {
  closeSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync,
  renameSync, rmSync, statSync, symlinkSync, copyFileSync, writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ParamStore } from '../engine/params.ts';
import { UserError } from '../util/errors.ts';
import { modelCheckpointDir } from '../results/layout.ts';
import { type VLMConfig, initVLM } from './vlm.ts';
import { Tokenizer, serializeTokenizerJson } from './tokenizer/index.ts';
import { float32Of, readSafetensors, serializeSafetensors } from './safetensors.ts';
import { hasLora, mergeLora } from './lora.ts';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
const CHECKPOINT_FILES = [WEIGHTS_FILE, CONFIG_FILE, TOKENIZER_FILE];

export const CONFIG_FORMAT = 'clearbench-vlm';
export const CONFIG_VERSION = 1;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** config.json. */
export interface ModelConfigFile {
  format: typeof CONFIG_FORMAT;
  version: typeof CONFIG_VERSION;
  model: VLMConfig;
  /** The preset the architecture came from, if any (vlm.ts `preset`). */
  preset?: string;
  /** How the model was trained (recipe, steps, seed, …), free-form JSON. */
  training?: Record<string, JsonValue>;
}

export interface SaveCheckpointInput {
  /** The parameters; a model with LoRA adapters is saved merged (the store itself is not changed). */
  store: ParamStore;
  config: VLMConfig;
  tokenizer: Tokenizer;
  preset?: string;
  training?: Record<string, JsonValue>;
}

export interface Checkpoint {
  /** Parameters in initVLM's order, all trainable. */
  store: ParamStore;
  config: ModelConfigFile;
  tokenizer: Tokenizer;
}

// ---- the directory swap ----

function siblings(dir: string, kind: 'tmp' | 'old'): string[] {
  const parent = dirname(dir);
  const stem = `.${basename(dir)}.${kind}-`;
  if (!existsSync(parent)) return [];
  return readdirSync(parent).filter((n) => n.startsWith(stem)).map((n) => join(parent, n));
}

/** Undo a save interrupted between its two renames: the previous checkpoint, set aside, returns. */
function recoverInterruptedSave(dir: string): void {
  if (existsSync(dir)) return;
  const aside = siblings(dir, 'old').sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (aside.length) renameSync(aside[0], dir);
}

function writeDurable(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Recreate `src` at `dst` without copying file contents: directories anew, files hard-linked, symlinks copied. */
function mirror(src: string, dst: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dst);
    for (const name of readdirSync(src)) mirror(join(src, name), join(dst, name));
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else {
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst); // a filesystem without hard links
    }
  }
}

function assertVLMStore(store: ParamStore, cfg: VLMConfig): void {
  const expected = expectedParams(cfg, 'the model config');
  const names = new Set(expected.map((e) => e.name));
  for (const e of expected) {
    if (!store.has(e.name)) throw new Error(`saveCheckpoint: the store lacks ${e.name}, which the config needs`);
    const got = store.get(e.name).shape;
    if (got.join(',') !== e.shape.join(',')) throw new Error(`saveCheckpoint: ${e.name} is [${got}], the config needs [${e.shape}]`);
  }
  for (const name of store.names()) if (!names.has(name)) throw new Error(`saveCheckpoint: the store has ${name}, which the config does not define`);
}

/**
 * Write a checkpoint directory atomically (see the module comment); replaces an existing checkpoint there.
 * @throws UserError when the directory cannot be written.
 */
export function saveCheckpoint(dirPath: string, input: SaveCheckpointInput): void {
  const dir = resolve(dirPath);
  const weights = hasLora(input.store) ? mergeLora(input.store) : input.store;
  assertVLMStore(weights, input.config);
  if (input.tokenizer.vocabSize > input.config.lm.vocabSize) {
    throw new Error(`saveCheckpoint: the tokenizer has ${input.tokenizer.vocabSize} ids but the model only ${input.config.lm.vocabSize} embeddings`);
  }
  const file: ModelConfigFile = {
    format: CONFIG_FORMAT,
    version: CONFIG_VERSION,
    model: input.config,
    ...(input.preset !== undefined ? { preset: input.preset } : {}),
    ...(input.training !== undefined ? { training: input.training } : {}),
  };
  const bytes = serializeSafetensors(weights.entries().map((e) => ({ name: e.name, shape: e.shape, data: e.data })), { format: CONFIG_FORMAT });

  const files = new Map<string, Uint8Array | string>([
    [WEIGHTS_FILE, bytes],
    [CONFIG_FILE, `${JSON.stringify(file, null, 2)}\n`],
    [TOKENIZER_FILE, serializeTokenizerJson(input.tokenizer.toJSON())],
  ]);
  writeCheckpointFiles(dir, files, (name) => CHECKPOINT_FILES.includes(name));
}

/**
 * Replace the checkpoint directory `dirPath` atomically by one holding `files` (name → bytes or text), with
 * the old directory's other entries carried over unless `owned(name)` says they belong to the checkpoint
 * (e.g. weight shards a new save no longer writes). Any model kind saves through this.
 * @throws UserError when the directory cannot be written.
 */
export function writeCheckpointFiles(dirPath: string, files: ReadonlyMap<string, Uint8Array | string>, owned: (name: string) => boolean): void {
  const dir = resolve(dirPath);
  try {
    mkdirSync(dirname(dir), { recursive: true });
    recoverInterruptedSave(dir);
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`${dir} exists and is not a directory; choose another checkpoint path`);
    // Leftovers of earlier interrupted saves (one saver per directory, so none is in progress).
    for (const p of [...siblings(dir, 'tmp'), ...(existsSync(dir) ? siblings(dir, 'old') : [])]) rmSync(p, { recursive: true, force: true });

    const tag = randomBytes(6).toString('hex');
    const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${tag}`);
    mkdirSync(tmp);
    for (const [name, data] of files) writeDurable(join(tmp, name), data);
    if (existsSync(dir)) {
      for (const name of readdirSync(dir)) if (!files.has(name) && !owned(name)) mirror(join(dir, name), join(tmp, name));
      const aside = join(dirname(dir), `.${basename(dir)}.old-${tag}`);
      renameSync(dir, aside);
      renameSync(tmp, dir);
      rmSync(aside, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
    fsyncDir(dirname(dir));
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    throw new UserError(`cannot save the checkpoint to ${dir} (${code}: ${(err as Error).message}); choose a writable directory with free space`);
  }
}

/** Whether `dir` holds the three checkpoint files (contents are checked by loadCheckpoint). */
export function checkpointExists(dirPath: string): boolean {
  const dir = resolve(dirPath);
  recoverInterruptedSave(dir);
  return CHECKPOINT_FILES.every((f) => {
    const p = join(dir, f);
    return existsSync(p) && statSync(p).isFile();
  });
}

/** A model directory's checkpoint (`<dir>/checkpoint`), or `dir` itself when it is a checkpoint. */
export function checkpointDir(dir: string, forWriting = false): string {
  if (!forWriting && existsSync(join(dir, CONFIG_FILE))) return dir;
  return modelCheckpointDir(dir);
}

// ---- loading ----

function positiveInt(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

/** Check config.json's shape; errors name the file and the field. */
function parseConfigFile(path: string): ModelConfigFile {
  const fix = 're-save the checkpoint or restore its config.json';
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}); ${fix}`);
  }
  const bad = (what: string) => new UserError(`${path}: ${what}; ${fix}`);
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad('not a JSON object');
  const f = json as Record<string, unknown>;
  if (f.format !== CONFIG_FORMAT) throw bad(`format is ${JSON.stringify(f.format)}, expected "${CONFIG_FORMAT}"`);
  if (typeof f.version !== 'number' || f.version > CONFIG_VERSION) {
    throw new UserError(`${path}: config version ${JSON.stringify(f.version)} is newer than this clearbench reads (${CONFIG_VERSION}); upgrade clearbench`);
  }
  if (f.version !== CONFIG_VERSION) throw bad(`unknown config version ${f.version}`);
  if (f.preset !== undefined && typeof f.preset !== 'string') throw bad('preset is not a string');
  if (f.training !== undefined && (!f.training || typeof f.training !== 'object' || Array.isArray(f.training))) throw bad('training is not an object');
  const m = f.model as Record<string, Record<string, unknown>> | undefined;
  if (!m || typeof m !== 'object' || !m.vision || typeof m.vision !== 'object' || !m.lm || typeof m.lm !== 'object') throw bad('model needs "vision" and "lm" objects');
  const fields: [string, string[]][] = [
    ['vision', ['imageSize', 'patch', 'dModel', 'layers', 'heads', 'mlpRatio']],
    ['lm', ['vocabSize', 'dModel', 'layers', 'heads', 'mlpRatio', 'maxSeq']],
  ];
  for (const [part, keys] of fields) {
    for (const k of keys) if (!positiveInt(m[part][k])) throw bad(`model.${part}.${k} is ${JSON.stringify(m[part][k])}, expected a positive integer`);
    if (m[part].norm !== 'layernorm' && m[part].norm !== 'rmsnorm') throw bad(`model.${part}.norm is ${JSON.stringify(m[part].norm)}, expected "layernorm" or "rmsnorm"`);
  }
  return json as ModelConfigFile;
}

interface ParamShape {
  name: string;
  shape: readonly number[];
}

// initVLM draws every initial value; remembering the layouts spares that on each save and load.
const layoutCache = new Map<string, ParamShape[]>();

/** The parameters (names, shapes, in initVLM's order) the architecture defines. */
function expectedParams(cfg: VLMConfig, source: string): ParamShape[] {
  const key = JSON.stringify(cfg);
  let layout = layoutCache.get(key);
  if (!layout) {
    const ref = new ParamStore();
    try {
      initVLM(ref, cfg, 0);
    } catch (err) {
      throw new UserError(`${source} describes an invalid model (${(err as Error).message}); fix the model section`);
    }
    layout = ref.entries().map((e) => ({ name: e.name, shape: e.shape }));
    if (layoutCache.size >= 8) layoutCache.delete(layoutCache.keys().next().value!);
    layoutCache.set(key, layout);
  }
  return layout;
}

/**
 * Load a checkpoint directory.
 * @throws UserError naming the missing or corrupt file and the fix.
 */
export function loadCheckpoint(dirPath: string): Checkpoint {
  const dir = resolve(dirPath);
  recoverInterruptedSave(dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`checkpoint directory ${dir} does not exist; check the path or train the model first`);
  for (const f of CHECKPOINT_FILES) {
    if (!existsSync(join(dir, f))) throw new UserError(`${join(dir, f)} is missing, so ${dir} is not a complete checkpoint; save the model there again`);
  }
  const configPath = join(dir, CONFIG_FILE);
  const config = parseConfigFile(configPath);
  const tokenizer = Tokenizer.fromFile(join(dir, TOKENIZER_FILE));
  if (tokenizer.vocabSize > config.model.lm.vocabSize) {
    throw new UserError(`${join(dir, TOKENIZER_FILE)} has ${tokenizer.vocabSize} token ids but ${configPath} gives the model ${config.model.lm.vocabSize}; the checkpoint's files do not belong together — save it again`);
  }

  const weightsPath = join(dir, WEIGHTS_FILE);
  const { tensors } = readSafetensors(weightsPath);
  const expected = expectedParams(config.model, configPath);
  const mismatch = (what: string) => new UserError(`${weightsPath} does not match ${configPath}: ${what}; save the checkpoint again`);
  const store = new ParamStore();
  for (const e of expected) {
    const t = tensors.get(e.name);
    if (!t) throw mismatch(`tensor ${e.name} is missing`);
    if (t.dtype !== 'F32') throw mismatch(`tensor ${e.name} is ${t.dtype}, expected F32`);
    if (t.shape.join(',') !== e.shape.join(',')) throw mismatch(`tensor ${e.name} is [${t.shape}], expected [${e.shape}]`);
    store.add(e.name, e.shape, float32Of(t));
  }
  const names = new Set(expected.map((e) => e.name));
  for (const name of tensors.keys()) if (!names.has(name)) throw mismatch(`unexpected tensor ${name}`);
  return { store, config, tokenizer };
}
