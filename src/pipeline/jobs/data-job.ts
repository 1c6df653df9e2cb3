/**
 * The data job, the plan's first stage: the synthetic generator writes the dataset into `<run>/data`; a
 * hub source downloads CLEAR (and TOFU) into the download cache and `<run>/data` links to the snapshot,
 * with the TOFU snapshot as `<run>/data/tofu` where the trainer and evaluator look for it.
 */
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openClear } from '../../data/dataset.ts';
import { generateSynthetic } from '../../data/synth/generate.ts';
import { downloadRepo } from '../../data/hub/download.ts';
import { resolveCacheDir } from '../../data/cache-dir.ts';
import { UserError } from '../../util/errors.ts';
import { type PipelineConfig } from '../config/schema.ts';

export interface DataParams {
  /** The run's dataset directory (`<run>/data`). */
  dataDir: string;
  /** The config's data section. */
  source: PipelineConfig['data'];
}

export async function runDataJob(spec: DataParams, say: (message: string) => void): Promise<void> {
  const d = spec.source;
  if (d.source === 'synthetic') {
    const s = d.synthetic;
    await generateSynthetic({ outDir: spec.dataDir, persons: s.persons, imagesPerPerson: s.images_per_person, wellKnown: s.well_known, seed: s.seed });
    return;
  }
  const h = d.hub;
  const cacheDir = resolveCacheDir(h.cache_dir ?? undefined);
  const hubUrl = h.hub_url ?? undefined;
  say(`downloading ${h.repo}@${h.revision} into ${cacheDir}`);
  const clear = await downloadRepo({ repo: h.repo, revision: h.revision, configs: 'all', cacheDir, hubUrl });
  mkdirSync(spec.dataDir, { recursive: true });
  for (const name of readdirSync(clear.dir)) {
    if (name === 'tofu' || name.startsWith('.')) continue;
    symlinkSync(join(clear.dir, name), join(spec.dataDir, name));
  }
  if (h.tofu_repo) {
    say(`downloading ${h.tofu_repo}@${h.tofu_revision} into ${cacheDir}`);
    const tofu = await downloadRepo({ repo: h.tofu_repo, revision: h.tofu_revision, configs: 'all', cacheDir, hubUrl });
    symlinkSync(tofu.dir, join(spec.dataDir, 'tofu'));
  }
  // The base recipe trains from scratch on `pretrain` (the synthetic dataset's well-known persons and world
  // facts); say so now rather than after the download, in the base model's job.
  if (!(await openClear(spec.dataDir)).configs().includes('pretrain')) {
    throw new UserError(
      `${h.repo}@${h.revision} has no 'pretrain' config, which the base recipe trains on; ` +
        'runs on hub data need a dataset with that config (clearbench synth writes one; serve it with clearbench serve-hub)',
    );
  }
}
