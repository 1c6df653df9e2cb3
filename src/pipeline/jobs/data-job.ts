/**
 * The data job, the plan's first stage: the synthetic generator writes the dataset into `<run>/data`; a
 * hub source resolves each repo's revision to a commit, checks from the dataset card that every config the
 * run needs exists there (one line naming the missing ones otherwise, before any large download), then
 * downloads only those into the download cache and links them into `<run>/data`, the TOFU ones into
 * `<run>/data/tofu` where the trainer and evaluator look for them. Either way `<run>/data/.provenance.json`
 * records where the data came from and what the base model trains on.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { generateSynthetic } from '../../data/synth/generate.ts';
import { type RepoContents, downloadRepo, repoContents } from '../../data/hub/download.ts';
import { resolveCacheDir } from '../../data/cache-dir.ts';
import { baseDataOf, writeDataProvenance } from '../../data/provenance.ts';
import { type RepoProvenance } from '../../results/contract.ts';
import { UserError } from '../../util/errors.ts';
import { type PipelineConfig } from '../config/schema.ts';
import { type NeedsInput, type RepoNeeds, dataNeeds } from '../data-needs.ts';

export interface DataParams {
  /** The run's dataset directory (`<run>/data`). */
  dataDir: string;
  /** The config's data section. */
  source: PipelineConfig['data'];
  /** What the plan reads (the base's data is decided here, from the dataset card). */
  needs: Omit<NeedsInput, 'base' | 'tofu'>;
  /** A pretrained base the run takes instead of training one (`repo@revision`, or its directory), for the provenance's note. */
  baseModel?: string | null;
}

/** The provenance's base_model, present only for a pretrained base. */
const baseModelOf = (spec: DataParams) => (spec.baseModel ? { base_model: spec.baseModel } : {});

/** A one-decimal size: 1.2 GB, 340.5 MB. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** The configs of `needs` the repo has (required, then the optional ones present) and the required ones it lacks. */
export function selectConfigs(contents: RepoContents, needs: RepoNeeds): { take: string[]; missing: string[] } {
  const have = new Set(contents.configs.map((c) => c.name));
  return {
    take: [...needs.required.filter((c) => have.has(c)), ...needs.optional.filter((c) => have.has(c))],
    missing: needs.required.filter((c) => !have.has(c)),
  };
}

/** The configs of `needs` the repo has: every required one (else one line naming the missing), and the optional ones present. */
export function configsToFetch(contents: RepoContents, needs: RepoNeeds, repo: string, revision: string): string[] {
  const { take, missing } = selectConfigs(contents, needs);
  if (missing.length) {
    throw new UserError(
      `${repo}@${revision} (commit ${contents.commit.slice(0, 12)}) lacks config(s) ${missing.map((m) => `'${m}'`).join(', ')} that this run needs; ` +
        'pin a revision that has them (data.hub.revision), or drop the forget split, modality or benchmark that reads them',
    );
  }
  return take;
}

/** Link every file of `configs` (by its top-level entry under the snapshot) and the card into `into`. */
function linkConfigs(contents: RepoContents, configs: readonly string[], into: string): void {
  mkdirSync(into, { recursive: true });
  const entries = new Set<string>(['README.md']);
  for (const c of contents.configs.filter((x) => configs.includes(x.name))) for (const f of c.files) entries.add(f.path.split('/')[0]);
  for (const e of [...entries].sort()) symlinkSync(join(contents.dir, e), join(into, e));
}

export async function runDataJob(spec: DataParams, say: (message: string) => void): Promise<void> {
  const d = spec.source;
  if (d.source === 'synthetic') {
    const s = d.synthetic;
    const written = await generateSynthetic({
      outDir: spec.dataDir, persons: s.persons, imagesPerPerson: s.images_per_person, wellKnown: s.well_known, seed: s.seed,
      pretrainImages: s.pretrain_images ?? undefined, layout: s.layout,
    });
    writeDataProvenance(spec.dataDir, { source: 'synthetic', clear: null, tofu: null, synthetic: { ...s }, base_data: baseDataOf(Object.keys(written.rows)), ...baseModelOf(spec) });
    return;
  }
  const h = d.hub;
  const cacheDir = resolveCacheDir(h.cache_dir ?? undefined);
  const hub = { cacheDir, hubUrl: h.hub_url ?? undefined };
  const clearContents = await repoContents({ repo: h.repo, revision: h.revision, ...hub });
  const tofuContents = h.tofu_repo ? await repoContents({ repo: h.tofu_repo, revision: h.tofu_revision, ...hub }) : null;
  const base = baseDataOf(clearContents.configs.map((c) => c.name));
  const needs = dataNeeds({ ...spec.needs, tofu: tofuContents !== null, base });
  // Every repo is checked before anything large is fetched.
  const clearConfigs = configsToFetch(clearContents, needs.clear, h.repo, h.revision);
  const tofuConfigs = tofuContents && needs.tofu ? configsToFetch(tofuContents, needs.tofu, h.tofu_repo!, h.tofu_revision) : [];
  if (base === 'emulated' && !spec.baseModel) say(`${h.repo}@${h.revision} has no pretrain config: the base model trains by emulated pretraining on the utility sets`);

  const fetch = async (repo: string, revision: string, contents: RepoContents, configs: string[]): Promise<RepoProvenance> => {
    const bytes = contents.configs.filter((c) => configs.includes(c.name)).reduce((a, c) => a + c.bytes, 0);
    say(`downloading ${repo}@${revision} (commit ${contents.commit.slice(0, 12)}): ${configs.length} of ${contents.configs.length} configs, ${formatBytes(bytes)} into ${cacheDir}`);
    const got = await downloadRepo({ repo, revision: contents.commit, configs, ...hub });
    return { repo, revision, commit: got.commit, configs: [...configs].sort() };
  };
  const clear = await fetch(h.repo, h.revision, clearContents, clearConfigs);
  linkConfigs(clearContents, clearConfigs, spec.dataDir);
  let tofu: RepoProvenance | null = null;
  if (tofuContents) {
    tofu = await fetch(h.tofu_repo!, h.tofu_revision, tofuContents, tofuConfigs);
    linkConfigs(tofuContents, tofuConfigs, join(spec.dataDir, 'tofu'));
  }
  writeDataProvenance(spec.dataDir, { source: 'hub', clear, tofu, synthetic: null, base_data: base, ...baseModelOf(spec) });
}
