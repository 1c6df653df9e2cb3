/**
 * The data stage with a hub source (as configs/clear.yaml uses), against the loopback hub serving a small
 * synthetic dataset: CLEAR and TOFU land in the download cache and `<run>/data` reads exactly like the
 * original, with the TOFU text at `<run>/data/tofu`; rerunning the stage over its own output works; a hub
 * dataset without the `pretrain` config (the real therem/CLEAR) fails the stage with one clear line.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { cpSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openClear, openTofu } from '../../src/data/dataset.ts';
import { type HubServer, startHubServer } from '../../src/data/hub/server.ts';
import { type DataParams, runDataJob } from '../../src/pipeline/jobs/data-job.ts';
import { clearOutput } from '../../src/pipeline/markers.ts';
import { type Stage } from '../../src/pipeline/plan.ts';

let dir: string;
let source: string;
let server: HubServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-datastage-'));
  source = join(dir, 'source');
  await generateSynthetic({ outDir: source, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 2 });
  server = await startHubServer({ dir: source });
}, 60_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('data stage from the hub', () => {
  test('downloads CLEAR and TOFU and lays them out as one dataset directory', async () => {
    const spec: DataParams = {
      dataDir: join(dir, 'run', 'data'),
      source: {
        source: 'hub',
        synthetic: { persons: 40, images_per_person: 8, well_known: 20, seed: 0 },
        hub: { repo: 'therem/CLEAR', revision: 'main', tofu_repo: 'locuslab/TOFU', tofu_revision: 'main', cache_dir: join(dir, 'cache'), hub_url: server.url },
      },
    };
    const notes: string[] = [];
    const stage = { kind: 'data', dir: spec.dataDir } as Stage;
    const fileRequests = () => server.requests.filter((r) => r.path.includes('/resolve/')).length;
    const after: number[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      clearOutput(stage); // as the executor does before every (re)run
      await runDataJob(spec, (m) => notes.push(m));
      const [got, want] = [await openClear(spec.dataDir), await openClear(source)];
      expect(got.configs()).toEqual(want.configs());
      for (const c of ['forget10_perturbed', 'pretrain', 'real_faces']) expect(await got.loadConfig(c)).toEqual(await want.loadConfig(c));
      const [tofu, tofuWant] = [await openTofu(join(spec.dataDir, 'tofu')), await openTofu(join(source, 'tofu'))];
      expect(await tofu.loadConfig('forget10_perturbed')).toEqual(await tofuWant.loadConfig('forget10_perturbed'));
      expect(lstatSync(join(spec.dataDir, 'tofu')).isSymbolicLink()).toBe(true);
      after.push(fileRequests());
    }
    expect(notes[0]).toBe(`downloading therem/CLEAR@main into ${join(dir, 'cache')}`);
    // The second attempt came from the cache: the hub saw no new file request.
    expect(after[0]).toBeGreaterThan(0);
    expect(after[1]).toBe(after[0]);
  }, 120_000);

  test("a dataset without the base recipe's 'pretrain' config fails the data stage with one line", async () => {
    // The synthetic dataset minus pretrain, as the real therem/CLEAR is: its card no longer declares it.
    const noPretrain = join(dir, 'no-pretrain');
    cpSync(source, noPretrain, { recursive: true });
    rmSync(join(noPretrain, 'pretrain'), { recursive: true });
    const [, front, body] = readFileSync(join(noPretrain, 'README.md'), 'utf8').split(/^---$/m);
    const card = parse(front) as { dataset_info: { config_name: string }[]; configs: { config_name: string }[] };
    card.dataset_info = card.dataset_info.filter((c) => c.config_name !== 'pretrain');
    card.configs = card.configs.filter((c) => c.config_name !== 'pretrain');
    writeFileSync(join(noPretrain, 'README.md'), `---\n${stringify(card)}---${body}`);
    const hub = await startHubServer({ repos: { 'owner/real-like': noPretrain } });
    try {
      const spec: DataParams = {
        dataDir: join(dir, 'run2', 'data'),
        source: {
          source: 'hub',
          synthetic: { persons: 40, images_per_person: 8, well_known: 20, seed: 0 },
          hub: { repo: 'owner/real-like', revision: 'main', tofu_repo: null, tofu_revision: 'main', cache_dir: join(dir, 'cache2'), hub_url: hub.url },
        },
      };
      await expect(runDataJob(spec, () => {})).rejects.toThrow(
        "owner/real-like@main has no 'pretrain' config, which the base recipe trains on; runs on hub data need a dataset with that config " +
          '(clearbench synth writes one; serve it with clearbench serve-hub)',
      );
    } finally {
      await hub.close();
    }
  }, 60_000);
});
