/**
 * Expands the config's method entries into sweep points: every list value among an entry's hyperparameters
 * and setting overrides is an axis, and the entry runs once per point of their cartesian product. Each point
 * is validated against its method's hyperparameter schema (defaults filled) before anything trains.
 */
import { type AnyMethod, validateHyperparameters } from '../methods/api.ts';
import { type MethodRegistry } from '../methods/registry.ts';
import { UserError } from '../util/errors.ts';
import { type LoadedConfig } from './config/load.ts';
import { type MethodEntry, UNLEARNING_KEYS, type UnlearningSettings } from './config/schema.ts';

export interface SweepPoint {
  /** Index of the entry in `methods`. */
  entry: number;
  method: AnyMethod;
  /** Validated hyperparameters, defaults filled. */
  hyperparameters: Record<string, unknown>;
  /** The unlearning settings of this point: the config's defaults with the entry's overrides. */
  settings: UnlearningSettings;
  /** What the entry set explicitly at this point (hyperparameters and overrides), for meta.json. */
  given: Record<string, unknown>;
  /** Readable unique name: the method and its swept values (plus fixed values where needed to tell entries apart). */
  name: string;
}

type SettingKey = (typeof UNLEARNING_KEYS)[number];

interface Axis {
  /** hyperparameter or setting */
  kind: 'h' | 's';
  key: string;
  values: unknown[];
  swept: boolean;
}

/** The entry's explicit values as axes (a single value is an axis of length one). */
function axesOf(e: MethodEntry): Axis[] {
  const axes: Axis[] = [];
  for (const [key, v] of Object.entries(e.hyperparameters)) axes.push({ kind: 'h', key, values: Array.isArray(v) ? v : [v], swept: Array.isArray(v) });
  for (const key of UNLEARNING_KEYS) {
    const v = (e as Record<string, unknown>)[key];
    if (v === undefined) continue;
    // frozen is itself a list of prefixes: only a list of lists sweeps it.
    const sweep = key === 'frozen' ? Array.isArray(v) && v.length > 0 && v.every(Array.isArray) : Array.isArray(v);
    axes.push({ kind: 's', key, values: sweep ? (v as unknown[]) : [v], swept: sweep });
  }
  return axes;
}

function cartesian(axes: Axis[]): unknown[][] {
  let out: unknown[][] = [[]];
  for (const a of axes) out = out.flatMap((prefix) => a.values.map((v) => [...prefix, v]));
  return out;
}

/** A value as it appears in a model name. */
export function nameValue(v: unknown): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.length ? v.map(nameValue).join('+') : 'none';
  if (typeof v === 'object') {
    const l = v as { rank?: unknown; alpha?: unknown };
    return 'rank' in l ? `r${String(l.rank)}a${String(l.alpha)}` : Object.values(v as object).map(nameValue).join('_');
  }
  return String(v);
}

const sanitize = (s: string) => s.replace(/[^A-Za-z0-9.+_-]/g, '_');

export function expandMethods(loaded: LoadedConfig, registry: MethodRegistry): SweepPoint[] {
  const { config } = loaded;
  const points: (SweepPoint & { swept: string; all: string })[] = [];
  config.methods.forEach((e, i) => {
    let method: AnyMethod;
    try {
      method = registry.get(e.name);
    } catch (err) {
      throw loaded.error(['methods', i, 'name'], (err as Error).message);
    }
    // The method's name starts its model folder's name (models/<name>-s0-forget10): it must stay one segment.
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(method.name)) {
      throw loaded.error(['methods', i, 'name'], `method ${JSON.stringify(method.name)} cannot name a model folder; rename it (in its plugin) to letters, digits, dots, dashes and underscores`);
    }
    // Check each given hyperparameter on its own first, so an error names its key path.
    for (const [key, v] of Object.entries(e.hyperparameters)) {
      const path = ['methods', i, 'hyperparameters', key];
      if (!(key in method.hyperparameters)) {
        const known = Object.keys(method.hyperparameters);
        throw loaded.error(path, `method '${method.name}' has no hyperparameter '${key}' (it has: ${known.join(', ') || 'none'}); fix the name or remove it`);
      }
      for (const one of Array.isArray(v) ? v : [v]) {
        try {
          validateHyperparameters(method, { [key]: one });
        } catch (err) {
          throw loaded.error(path, (err as Error).message);
        }
      }
    }
    const axes = axesOf(e);
    for (const combo of cartesian(axes)) {
      const given: Record<string, unknown> = {};
      const h: Record<string, unknown> = {};
      const settings = { ...config.unlearning } as Record<SettingKey, unknown>;
      const swept: string[] = [];
      const all: string[] = [];
      axes.forEach((a, k) => {
        const v = combo[k];
        given[a.key] = v;
        if (a.kind === 'h') h[a.key] = v;
        else settings[a.key as SettingKey] = v;
        // A modality names itself (npo-text-s0-forget10); other values carry their key.
        const part = sanitize(a.key === 'modality' ? nameValue(v) : `${a.key}${nameValue(v)}`);
        all.push(part);
        if (a.swept) swept.push(part);
      });
      let hyperparameters: Record<string, unknown>;
      try {
        hyperparameters = validateHyperparameters(method, h) as Record<string, unknown>;
      } catch (err) {
        throw loaded.error(['methods', i, 'hyperparameters'], (err as Error).message);
      }
      points.push({
        entry: i, method, hyperparameters, settings: settings as UnlearningSettings, given,
        name: [method.name, ...swept].join('-'), swept: [method.name, ...swept].join('-'), all: [method.name, ...all].join('-'),
      });
    }
  });
  // A method with several entries names each point by every value its entry gives (npo-joint-alpha3 beside
  // npo-text), so no row reads as the method's plain defaults; identical points are an error.
  const entriesOf = new Map<string, Set<number>>();
  for (const p of points) entriesOf.set(p.method.name, (entriesOf.get(p.method.name) ?? new Set()).add(p.entry));
  for (const p of points) if (entriesOf.get(p.method.name)!.size > 1) p.name = p.all;
  const seen = new Map<string, SweepPoint>();
  for (const p of points) {
    const prev = seen.get(p.name);
    if (prev) {
      throw new UserError(
        `${loaded.origin(['methods', p.entry])}: methods[${prev.entry}] and methods[${p.entry}] both describe the run '${p.name}'; remove one or change a value`,
      );
    }
    seen.set(p.name, p);
  }
  return points.map(({ swept: _s, all: _a, ...p }) => p);
}
