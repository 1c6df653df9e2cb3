/**
 * Method discovery: every module in the project's methods/ folder, plus plugin paths or package names a
 * config lists. A module's default export (or any export) that looks like a AnyMethod registers.
 */
import { readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../util/errors.ts';
import { type AnyMethod } from './api.ts';
import { describeLoadFailure } from './plugin-error.ts';

export const BUILTIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../methods');

function isMethod(x: unknown): x is AnyMethod {
  const m = x as AnyMethod;
  return !!m && typeof m === 'object' && typeof m.name === 'string' && typeof m.loss === 'function' && Array.isArray(m.streams) && typeof m.hyperparameters === 'object';
}

async function load(spec: string, from: string): Promise<AnyMethod[]> {
  const file = spec.startsWith('.') || isAbsolute(spec) ? resolve(from, spec) : null;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(file ? pathToFileURL(file).href : spec)) as Record<string, unknown>;
  } catch (err) {
    const { reason, fix } = describeLoadFailure(err, file);
    throw new UserError(`cannot load method plugin '${spec}': ${reason}; ${fix}`);
  }
  const found = Object.values(mod).filter(isMethod);
  if (!found.length) throw new UserError(`plugin '${spec}' exports no method definition; export default defineMethod({...})`);
  return [...new Set(found)];
}

export class MethodRegistry {
  private readonly methods = new Map<string, { def: AnyMethod; source: string }>();

  /** The built-in methods plus the given plugins (paths relative to `baseDir`, or package names). */
  static async discover(plugins: readonly string[] = [], baseDir = process.cwd(), builtinDir = BUILTIN_DIR): Promise<MethodRegistry> {
    const r = new MethodRegistry();
    const files = readdirSync(builtinDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
    for (const f of files) for (const m of await load(join(builtinDir, f), builtinDir)) r.add(m, `methods/${f}`);
    for (const p of plugins) for (const m of await load(p, baseDir)) r.add(m, p);
    return r;
  }

  add(def: AnyMethod, source: string): void {
    const prev = this.methods.get(def.name);
    if (prev) throw new UserError(`method '${def.name}' is defined twice (${prev.source} and ${source}); rename one`);
    this.methods.set(def.name, { def, source });
  }

  get(name: string): AnyMethod {
    const m = this.methods.get(name);
    if (!m) throw new UserError(`unknown method '${name}' (known: ${this.names().join(', ')}); add a plugin file or fix the name`);
    return m.def;
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  entries(): { def: AnyMethod; source: string }[] {
    return this.names().map((n) => this.methods.get(n)!);
  }
}
