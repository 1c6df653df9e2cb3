/** Key paths into a config object: `methods[2].hyperparameters.beta` ⇄ ['methods', 2, 'hyperparameters', 'beta']. */
import { UserError } from '../../util/errors.ts';

export type KeyPath = (string | number)[];

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || '(top level)';
}

/** Parses `a.b[2].c` (or `a.b.2.c`) into segments; numbers address list items. */
export function parsePath(text: string): KeyPath {
  const out: KeyPath = [];
  for (const part of text.split('.')) {
    const m = /^([A-Za-z_][\w-]*)?((?:\[\d+\])*)$/.exec(part);
    if (/^\d+$/.test(part)) {
      out.push(Number(part));
      continue;
    }
    if (!m || (!m[1] && !m[2])) throw new UserError(`--set: '${text}' is not a key path; write it like model.recipes.base.epochs or methods[0].lr`);
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys that would reach Object.prototype through a plain object (and so every object): never config keys. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export const isForbiddenKey = (key: PropertyKey): boolean => typeof key === 'string' && FORBIDDEN_KEYS.has(key);

/** The path of the first forbidden key in a parsed YAML value (mappings and lists, at any depth), or null. */
export function forbiddenKeyPath(v: unknown, at: KeyPath = []): KeyPath | null {
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : isObject(v) ? Object.entries(v) : [];
  for (const [k, x] of entries) {
    if (isForbiddenKey(k)) return [...at, k];
    const inner = forbiddenKeyPath(x, [...at, k]);
    if (inner) return inner;
  }
  return null;
}

/** The value at `path`, or undefined. */
export function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
    else if (isObject(v) && typeof seg === 'string') v = v[seg];
    else return undefined;
  }
  return v;
}

/** How many leading segments of `path` exist in `root`. */
export function depthPresent(root: unknown, path: readonly PropertyKey[]): number {
  let v = root;
  let depth = 0;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number' && seg < v.length) v = v[seg];
    else if (isObject(v) && typeof seg === 'string' && seg in v) v = v[seg];
    else break;
    depth++;
  }
  return depth;
}

/** Sets `path` in `root` (in place), creating objects on the way; a list index must address an existing item or the next one. */
export function setPath(root: Record<string, unknown>, path: KeyPath, value: unknown, label: string): void {
  let v: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    const where = formatPath(path.slice(0, i + 1));
    if (typeof seg === 'number') {
      if (!Array.isArray(v)) throw new UserError(`${label}: ${formatPath(path.slice(0, i))} is not a list, so ${where} cannot be set; check the key path`);
      if (seg > v.length) throw new UserError(`${label}: ${where} is past the end of a list of ${v.length}; use an index from 0 to ${v.length}`);
      if (last) v[seg] = value;
      else {
        if (!isObject(v[seg]) && !Array.isArray(v[seg])) v[seg] = typeof path[i + 1] === 'number' ? [] : {};
        v = v[seg];
      }
    } else {
      if (!isObject(v)) throw new UserError(`${label}: ${formatPath(path.slice(0, i))} is not a mapping, so ${where} cannot be set; check the key path`);
      if (last) v[seg] = value;
      else {
        if (!isObject(v[seg]) && !Array.isArray(v[seg])) v[seg] = typeof path[i + 1] === 'number' ? [] : {};
        v = v[seg];
      }
    }
  }
}

/** Deep merge for `extends`: mappings merge key by key, anything else (lists included) is replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}

export { isObject };
