/**
 * The data stage with a hub source (as configs/clear.yaml uses), against the loopback hub: it downloads only
 * the configs the plan reads (data-needs.ts), after checking the card has every one at the revision; `<run>/data`
 * reads exactly like the original for those, with the TOFU text at `<run>/data/tofu`; rerunning over its own
 * output makes no new file request; `.provenance.json` records the commits and the base's data. A dataset in the
 * real repositories' layout (no `pretrain`) gets emulated pretraining, and a missing config fails in one line
 * before any data file is fetched.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../src/data/dataset.ts';
import { type HubServer, startHubServer } from '../../src/data/hub/server.ts';
import { type DataParams, runDataJob } from '../../src/pipeline/jobs/data-job.ts';
import { dataNeeds } from '../../src/pipeline/data-needs.ts';
import { clearOutput } from '../../src/pipeline/markers.ts';
import { type Stage } from '../../src/pipeline/plan.ts';
import { readDataProvenance } from '../../src/results/contract.ts';
import { dataProvenancePath } from '../../src/results/layout.ts';

let dir: string;
let source: string;
let hubLayout: string;
let server: HubServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-datastage-'));
  source = join(dir, 'source');
  hubLayout = join(dir, 'hub-layout');
  await generateSynthetic({ outDir: source, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 2 });
  await generateSynthetic({ outDir: hubLayout, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 2, layout: 'hub' });
  server = await startHubServer({ dir: source, repos: { 'owner/real-like': hubLayout, 'owner/real-like-tofu': join(hubLayout, 'tofu') } });
}, 60_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const synthetic = { persons: 40, images_per_person: 8, well_known: 20, seed: 0, pretrain_images: null, layout: 'clearbench' as const };
const NEEDS: DataParams['needs'] = { splits: ['forget10'], benchmarks: ['clear', 'tofu'], modalities: ['joint'] };

function hubSpec(run: string, repo: string, tofuRepo: string | null, needs = NEEDS): DataParams {
  return {
    dataDir: join(dir, run, 'data'),
    source: { source: 'hub', synthetic, hub: { repo, revision: 'main', tofu_repo: tofuRepo, tofu_revision: 'main', cache_dir: join(dir, `cache-${run}`), hub_url: server.url } },
    needs,
  };
}

const fileRequests = (repo: string) => server.requests.filter((r) => r.method === 'GET' && r.path.includes(`/datasets/${repo}/resolve/`));

describe('data stage from the hub', () => {
  test('downloads exactly the configs the plan reads, lays them out as one dataset directory and records the commits', async () => {
    const spec = hubSpec('run', 'therem/CLEAR', 'locuslab/TOFU');
    const notes: string[] = [];
    const stage = { kind: 'data', dir: spec.dataDir } as Stage;
    const after: number[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      clearOutput(stage); // as the executor does before every (re)run
      await runDataJob(spec, (m) => notes.push(m));
      const [got, want] = [await openClear(spec.dataDir), await openClear(source)];
      expect(got.configs()).toEqual(want.configs()); // the card declares them all …
      for (const c of ['forget10_perturbed', 'pretrain', 'real_faces', 'holdout_perturbed']) expect(await got.loadConfig(c)).toEqual(await want.loadConfig(c));
      expect(() => got.files('forget01')).toThrow("config 'forget01' has no files"); // … but only the needed ones are here
      const [tofu, tofuWant] = [await openTofu(join(spec.dataDir, 'tofu')), await openTofu(join(source, 'tofu'))];
      expect(await tofu.loadConfig('forget10_perturbed')).toEqual(await tofuWant.loadConfig('forget10_perturbed'));
      after.push(fileRequests('therem/CLEAR').length + fileRequests('locuslab/TOFU').length);
    }
    // What was fetched is what data-needs derives from the plan (pretrain present: no emulated configs), plus the card.
    const needs = dataNeeds({ ...NEEDS, tofu: true, base: 'pretrain' });
    const fetched = (repo: string) => [...new Set(fileRequests(repo).map((r) => decodeURIComponent(r.path.split('/resolve/')[1].split('/').slice(1).join('/'))))].sort();
    const clearPaths = fetched('therem/CLEAR');
    expect(clearPaths).toEqual(['README.md', ...[...needs.clear.required, 'holdout_perturbed'].sort().map((c) => `${c}/train-00000-of-00001.parquet`)].sort());
    expect(fetched('locuslab/TOFU')).toEqual(['README.md', ...[...needs.tofu!.required, 'holdout_perturbed'].map((c) => `${c}.json`)].sort());
    expect(needs.clear.required).toEqual(['forget10', 'forget10_perturbed', 'full', 'pretrain', 'real_faces', 'real_world', 'retain90', 'retain_perturbed']);
    expect(needs.tofu!.required).toEqual(['forget10', 'forget10_perturbed', 'full', 'real_authors_perturbed', 'retain90', 'retain_perturbed', 'world_facts_perturbed']);
    // The second attempt came from the cache: the hub saw no new file request.
    expect(after[0]).toBeGreaterThan(0);
    expect(after[1]).toBe(after[0]);
    expect(notes[0]).toMatch(new RegExp(`^downloading therem/CLEAR@main \\(commit [0-9a-f]{12}\\): 9 of \\d+ configs, [0-9.]+ [kM]B into ${join(dir, 'cache-run')}$`));

    const p = readDataProvenance(dataProvenancePath(spec.dataDir));
    expect(p.source).toBe('hub');
    expect(p.base_data).toBe('pretrain');
    expect(p.clear).toEqual({ repo: 'therem/CLEAR', revision: 'main', commit: expect.stringMatching(/^[0-9a-f]{40}$/), configs: [...needs.clear.required, 'holdout_perturbed'].sort() });
    expect(p.tofu!.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(p.tofu!.commit).not.toBe(p.clear!.commit);
  }, 120_000);

  test('the real layout (no pretrain): emulated pretraining, its utility configs fetched, TOFU holdoutNN as the non-members', async () => {
    const spec = hubSpec('real', 'owner/real-like', 'owner/real-like-tofu');
    const notes: string[] = [];
    await runDataJob(spec, (m) => notes.push(m));
    expect(notes[0]).toBe('owner/real-like@main has no pretrain config: the base model trains by emulated pretraining on the utility sets');
    const p = readDataProvenance(dataProvenancePath(spec.dataDir));
    expect(p.base_data).toBe('emulated');
    expect(p.clear!.configs).toEqual(['forget10', 'forget10_perturbed', 'full', 'real_faces', 'real_world', 'retain90', 'retain_perturbed']);
    expect(p.tofu!.configs).toEqual(['forget10', 'forget10_perturbed', 'full', 'holdout10', 'real_authors', 'real_authors_perturbed', 'retain90', 'retain_perturbed', 'world_facts', 'world_facts_perturbed']);
    expect(readdirSync(join(spec.dataDir, 'tofu')).sort()).toEqual(['README.md', ...p.tofu!.configs.map((c) => `${c}.json`)].sort());
    // The hub's real_world has an extra prompt column and the perturbed configs another column order: both read.
    const clear = await openClear(spec.dataDir);
    const rw = (await clear.loadConfig('real_world')) as { question: string }[];
    expect(rw.length).toBeGreaterThan(0);
    expect(Object.keys(rw[0]).sort()).toEqual(['answer', 'image', 'options', 'question']);
    expect(((await clear.loadConfig('forget10_perturbed')) as { perturbed_names: string[] }[])[0].perturbed_names).toHaveLength(5);
  }, 60_000);

  test('a config the run needs that the card lacks fails in one line naming it and the revision, before any data file is fetched', async () => {
    // A TOFU repo named as the CLEAR repo: it has configs of the same names (forget10, retain90, …) but no image ones.
    const spec = hubSpec('missing', 'owner/real-like-tofu', null, { splits: ['forget10'], benchmarks: ['clear'], modalities: ['vision'] });
    const before = fileRequests('owner/real-like-tofu').length;
    await expect(runDataJob(spec, () => {})).rejects.toThrow(
      /^owner\/real-like-tofu@main \(commit [0-9a-f]{12}\) lacks config\(s\) 'real_faces', 'real_world' that this run needs; pin a revision that has them \(data\.hub\.revision\), or drop the forget split, modality or benchmark that reads them$/,
    );
    // Only the card was fetched.
    expect(new Set(fileRequests('owner/real-like-tofu').slice(before).map((r) => r.path.split('/').at(-1)))).toEqual(new Set(['README.md']));
    expect(existsSync(join(spec.dataDir, 'forget10'))).toBe(false);
  }, 60_000);
});

test('the hub layout from the generator has exactly the real repositories\' config list and columns', async () => {
  const clear = await openClear(hubLayout);
  expect(clear.configs().sort()).toEqual([
    'default', 'forget01', 'forget01+tofu', 'forget01_perturbed', 'forget05', 'forget05+tofu', 'forget05_perturbed', 'forget10', 'forget10+tofu',
    'forget10_perturbed', 'full', 'full+tofu', 'real_faces', 'real_world', 'retain90', 'retain90+tofu', 'retain95', 'retain95+tofu', 'retain99',
    'retain99+tofu', 'retain_perturbed',
  ]);
  expect(readdirSync(join(hubLayout, 'data')).sort()).toEqual(['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet']);
  expect((await clear.loadConfig('default')).length).toBe(8);
  const card = readFileSync(join(hubLayout, 'README.md'), 'utf8');
  expect(card).toContain('name: prompt');
  const tofu = await openTofu(join(hubLayout, 'tofu'));
  expect(tofu.configs()).toEqual(expect.arrayContaining(['holdout01', 'holdout05', 'holdout10']));
  expect(tofu.configs()).not.toContain('holdout_perturbed');
  expect((await tofu.loadConfig('holdout10')).every((r) => Object.keys(r).sort().join() === 'answer,question')).toBe(true);
}, 30_000);
