/**
 * The local executor and the worker it starts (bin/clearbench-worker.js, no CLI in between): a job runs
 * in its own process with its output in its log and its notes relayed; a failed job ends as failed with
 * the error's one line, as the CLI writes errors, last in its log; a cancelled job ends killed. The CLI
 * has no hidden worker command any more.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { type HubServer, startHubServer } from '../../src/data/hub/server.ts';
import { type JobSubmission } from '../../src/pipeline/executor.ts';
import { type JobOf, type JobSpec, type WorkerMessage } from '../../src/pipeline/jobs/spec.ts';
import { LocalExecutor } from '../../src/pipeline/local-executor.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string;
let server: HubServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-local-executor-'));
  await generateSynthetic({ outDir: join(dir, 'source'), persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 2 });
  server = await startHubServer({ dir: join(dir, 'source') });
}, 60_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `spec` into `<dir>/<name>/job.json` and returns the submission for it. */
function submission(name: string, spec: JobSpec, messages: WorkerMessage[] = []): JobSubmission {
  const stageDir = join(dir, name);
  mkdirSync(stageDir, { recursive: true });
  const specFile = join(stageDir, 'job.json');
  writeFileSync(specFile, JSON.stringify(spec));
  return { stage: name, specFile, log: join(stageDir, 'job.log'), threads: 1, onMessage: (m) => messages.push(m) };
}

const hubData = (dataDir: string): JobOf<'data'> => ({
  kind: 'data',
  dataDir,
  source: {
    source: 'hub',
    synthetic: { persons: 4, images_per_person: 2, well_known: 6, seed: 0, pretrain_images: null, layout: 'clearbench' },
    hub: { repo: 'therem/CLEAR', revision: 'main', tofu_repo: null, tofu_revision: 'main', cache_dir: join(dir, 'cache'), hub_url: server.url },
  },
  needs: { splits: ['forget10'], benchmarks: ['clear'], modalities: ['vision'] },
});

describe('local executor', () => {
  test("a data job runs in a worker: it succeeds, its notes reach the pipeline and its log", async () => {
    const executor = new LocalExecutor();
    const messages: WorkerMessage[] = [];
    const job = submission('data-ok', hubData(join(dir, 'data-ok', 'data')), messages);
    const handle = await executor.submit(job);
    expect(await executor.state(handle)).toEqual({ status: 'running' });
    expect(await executor.ended(handle)).toEqual({ status: 'succeeded' });
    expect(await executor.state(handle)).toEqual({ status: 'succeeded' });
    expect(messages).toEqual([{ type: 'note', message: expect.stringMatching(/^downloading therem\/CLEAR@main \(commit [0-9a-f]{12}\): /) }]);
    expect(readFileSync(job.log, 'utf8')).toContain((messages[0] as { message: string }).message);
    expect(existsSync(join(dir, 'data-ok', 'data', 'README.md'))).toBe(true);
  }, 60_000);

  test('a failed job ends as failed with its exit code, the one-line error the worker wrote last in its log, and the log', async () => {
    const executor = new LocalExecutor();
    const spec = hubData(join(dir, 'data-bad', 'data'));
    spec.source.hub.repo = 'nobody/missing';
    const job = submission('data-bad', spec);
    const end = await executor.ended(await executor.submit(job));
    const last = readFileSync(job.log, 'utf8').trim().split('\n').at(-1)!;
    expect(last).toMatch(/^clearbench: .*nobody\/missing/);
    expect(end).toEqual({ status: 'failed', message: `exit code 1 (${last}); log: ${job.log}` });
  }, 60_000);

  test('a spec file that is not there fails the worker with one line', async () => {
    const executor = new LocalExecutor();
    const job: JobSubmission = { stage: 'x', specFile: join(dir, 'nowhere', 'job.json'), log: join(dir, 'nowhere.log'), threads: 1 };
    const end = await executor.ended(await executor.submit(job));
    expect(end).toMatchObject({ status: 'failed', message: expect.stringMatching(/^exit code 1 \(clearbench: ENOENT: .*nowhere\/job\.json'\); log: /) });
  }, 60_000);

  test('a cancelled job ends killed by SIGTERM', async () => {
    const executor = new LocalExecutor();
    const job = submission('data-cancelled', hubData(join(dir, 'data-cancelled', 'data')));
    const handle = await executor.submit(job);
    await executor.cancel(handle);
    expect(await executor.ended(handle)).toEqual({ status: 'failed', message: `killed by SIGTERM; log: ${job.log}` });
  }, 60_000);

  test('the CLI has no hidden worker command', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clearbench.js'), '_job', join(dir, 'job.json')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown command '_job'");
  }, 60_000);
});
