/**
 * One loader for every copy of CLEAR / TOFU: a local directory in the hub layout (a
 * `clearbench synth` output, a snapshot in the download cache) or a hub repo (downloaded
 * into the cache first). Rows come back typed per config (see schema.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { UserError } from '../util/errors.ts';
import { configsFromCard, configsFromLayout, filesOfConfig } from './card.ts';
import type { ConfigFiles } from './card.ts';
import { readParquetRows } from './parquet.ts';
import { readJsonRows } from './json-rows.ts';
import { columnsFor } from './schema.ts';
import type { ClearRowFor, ColumnSpec, Family, Row, TofuRowFor } from './schema.ts';
import { downloadRepo } from './hub/download.ts';
import type { DownloadOptions } from './hub/download.ts';

/** A repo on the hub (or on a `clearbench serve-hub` server), fetched into the cache on open. */
export type HubSource = Omit<DownloadOptions, 'configs'> & { configs?: string[] | 'all' };
export type DatasetSource = string | HubSource;

type RowFor<F extends Family, N extends string> = F extends 'tofu' ? TofuRowFor<N> : ClearRowFor<N>;

/** Every file under `dir`, as repo paths with `/`, skipping dot-files and (for CLEAR) the embedded `tofu/` copy. */
function listRepoFiles(dir: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const full = join(d, name);
      const rel = relative(dir, full).split(sep).join('/');
      if (skip(rel)) continue;
      if (statSync(full).isDirectory()) walk(full);
      else out.push(rel);
    }
  };
  walk(dir);
  return out;
}

export class Dataset<F extends Family = Family> {
  private readonly configMap: Map<string, ConfigFiles>;
  private readonly paths: string[];

  constructor(
    readonly dir: string,
    readonly family: F,
  ) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UserError(`dataset directory ${dir} does not exist; run \`clearbench synth --out ${dir}\` or \`clearbench download\``);
    }
    this.paths = listRepoFiles(dir, (rel) => family === 'clear' && rel === 'tofu');
    const readme = join(dir, 'README.md');
    const declared = existsSync(readme) ? configsFromCard(readFileSync(readme, 'utf8')) : undefined;
    const configs = declared ?? configsFromLayout(this.paths);
    this.configMap = new Map(configs.map((c) => [c.name, c]));
  }

  /** Config names the dataset declares (whether or not their files are present locally). */
  configs(): string[] {
    return [...this.configMap.keys()];
  }

  /** Absolute paths of a config's shards, or an error naming what is missing. */
  files(config: string): string[] {
    const c = this.configMap.get(config);
    if (!c) {
      throw new UserError(`config '${config}' is not in ${this.dir} (it has: ${this.configs().join(', ') || 'none'}); check the name or regenerate the dataset`);
    }
    const files = filesOfConfig(c, this.paths);
    if (!files.length) {
      throw new UserError(
        `config '${config}' has no files in ${this.dir} (expected ${c.patterns.join(' or ')}); ` +
          `download it with \`clearbench download --configs ${config}\``,
      );
    }
    return files.map((p) => join(this.dir, p));
  }

  /** All rows of a config's train split, typed by config name, every value checked. */
  async loadConfig<N extends string>(config: N): Promise<RowFor<F, N>[]> {
    return this.readRows<RowFor<F, N>>(config, columnsFor(this.family, config));
  }

  /** A config's rows with only their text columns (parquet column projection: no image bytes are read). */
  async loadText(config: string): Promise<Record<string, string | string[] | null>[]> {
    return this.readRows(config, columnsFor(this.family, config).filter((c) => c.kind !== 'image'));
  }

  private async readRows<T>(config: string, columns: readonly ColumnSpec[]): Promise<T[]> {
    const rows: T[] = [];
    for (const file of this.files(config)) {
      const part = file.endsWith('.parquet') ? await readParquetRows<T>(file, columns) : readJsonRows<T>(file, columns);
      for (const r of part) rows.push(r);
    }
    return rows;
  }
}

function guessFamily(name: string): Family {
  return /tofu/i.test(name) ? 'tofu' : 'clear';
}

/**
 * Open a dataset: a directory in the hub layout, or `{repo, revision, cacheDir, ...}` which
 * downloads (or reuses) a cached snapshot first. The family (CLEAR images or TOFU text)
 * follows the name unless given.
 */
export async function openDataset(source: DatasetSource, opts: { family?: Family } = {}): Promise<Dataset> {
  if (typeof source === 'string') return new Dataset(source, opts.family ?? guessFamily(basename(source)));
  const { dir } = await downloadRepo({ ...source, configs: source.configs ?? 'all' });
  return new Dataset(dir, opts.family ?? guessFamily(source.repo));
}

export async function openClear(source: DatasetSource): Promise<Dataset<'clear'>> {
  return (await openDataset(source, { family: 'clear' })) as Dataset<'clear'>;
}

export async function openTofu(source: DatasetSource): Promise<Dataset<'tofu'>> {
  return (await openDataset(source, { family: 'tofu' })) as Dataset<'tofu'>;
}

/** A local CLEAR-layout directory and, when present, its TOFU text companion in `<dir>/tofu`. */
export async function openDataDir(dir: string): Promise<{ clear: Dataset<'clear'>; tofu: Dataset<'tofu'> | null }> {
  const tofuDir = join(dir, 'tofu');
  return { clear: await openClear(dir), tofu: existsSync(tofuDir) ? await openTofu(tofuDir) : null };
}

export type { Row };
