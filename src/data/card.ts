/**
 * Which files belong to which config of a dataset repo: the dataset card's `configs:` block
 * (README.md YAML front matter, as the hub reads it), else the hub's directory conventions.
 */
import { parse as parseYaml } from 'yaml';
import { safeRepoPath } from './hub/repo-path.ts';

export interface ConfigFiles {
  name: string;
  /** Glob patterns (HF `data_files` syntax) of the config's train split, relative to the repo root. */
  patterns: string[];
}

/** The YAML front matter of a dataset card, or undefined when it has none or it does not parse. */
export function cardMetadata(readme: string): Record<string, unknown> | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(readme);
  if (!m) return undefined;
  try {
    const y = parseYaml(m[1]) as unknown;
    return y && typeof y === 'object' ? (y as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function asStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/**
 * Configs declared in the card's `configs:` list (train split, or all splits when unnamed).
 * Every pattern must be a relative path inside the repo (`repo` names it in the error).
 */
export function configsFromCard(readme: string, repo = 'dataset card'): ConfigFiles[] | undefined {
  const meta = cardMetadata(readme);
  const list = meta?.configs;
  if (!Array.isArray(list)) return undefined;
  const out: ConfigFiles[] = [];
  for (const entry of list) {
    if (!entry || typeof entry !== 'object') continue;
    const e = entry as { config_name?: unknown; data_files?: unknown };
    if (typeof e.config_name !== 'string') continue;
    const df = e.data_files;
    let patterns: string[] = [];
    if (Array.isArray(df) && df.some((x) => x && typeof x === 'object')) {
      const splits = df as { split?: unknown; path?: unknown }[];
      const train = splits.filter((x) => x.split === 'train');
      patterns = (train.length ? train : splits).flatMap((x) => asStrings(x.path));
    } else if (df && typeof df === 'object' && !Array.isArray(df)) {
      const d = df as Record<string, unknown>;
      patterns = asStrings(d.train ?? Object.values(d).flatMap(asStrings));
    } else {
      patterns = asStrings(df);
    }
    const source = { what: `data_files pattern of config ${JSON.stringify(e.config_name)}`, fix: "the dataset card is broken or hostile: fix its data_files, or use another revision" };
    for (const p of patterns) safeRepoPath(repo, p, source);
    if (patterns.length) out.push({ name: e.config_name, patterns });
  }
  return out.length ? out : undefined;
}

/** HF data_files glob → RegExp: `*` within a path segment, `**` across segments. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
        if (pattern[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const DATA_FILE = /\.(parquet|json|jsonl)$/;

/**
 * Configs from the file layout when the card declares none: `<config>/train-*.parquet`
 * (`data/` is the `default` config) and root-level `<config>.json` files (TOFU).
 */
export function configsFromLayout(paths: readonly string[]): ConfigFiles[] {
  const byName = new Map<string, Set<string>>();
  for (const p of paths) {
    if (!DATA_FILE.test(p)) continue;
    const parts = p.split('/');
    if (parts.length === 1) {
      const name = p.replace(DATA_FILE, '');
      byName.set(name, (byName.get(name) ?? new Set<string>()).add(p));
    } else if (parts.length === 2 && /^train[-.]/.test(parts[1])) {
      const name = parts[0] === 'data' ? 'default' : parts[0];
      const set = byName.get(name) ?? new Set<string>();
      set.add(`${parts[0]}/train-*`);
      byName.set(name, set);
    }
  }
  return [...byName].map(([name, s]) => ({ name, patterns: [...s] })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The repo paths that belong to a config (sorted, so shard order is stable). */
export function filesOfConfig(config: ConfigFiles, paths: readonly string[]): string[] {
  const res = config.patterns.map(globToRegExp);
  return paths.filter((p) => DATA_FILE.test(p) && res.some((r) => r.test(p))).sort();
}
