/**
 * Download failures, each with its one-line error and a consistent cache afterwards (every
 * file under snapshots/ matches the hub's checksum; damaged bytes never get a final name):
 * gated repo, cut-off transfer (then resumed with Range), checksum mismatch, stale partial,
 * a server that ignores Range, missing config / repo / revision, unreachable hub, offline
 * without a cache, a shard damaged after download. The token never appears in any output.
 */
import { describe, test, expect } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { startHubServer } from '../../src/data/hub/server.ts';
import { downloadRepo } from '../../src/data/hub/download.ts';
import { openClear } from '../../src/data/dataset.ts';
import { SnapshotCache } from '../../src/data/hub/snapshot-cache.ts';
import { gitBlobOid, sha256Hex } from '../../src/data/hub/hashing.ts';
import { servedTinyDataset } from './helpers.ts';

const SHARD = 'forget10/train-00000-of-00001.parquet';
const hub = servedTinyDataset('dl-errors');

/** Every file with a final name in the cache matches the checksum of the hub's listing. */
function expectConsistent(cacheDir: string): void {
  const cache = new SnapshotCache(cacheDir, 'therem/CLEAR');
  const commit = hub.server.commitOf('therem/CLEAR');
  const manifest = cache.readManifest(commit);
  const snap = cache.snapshotDir(commit);
  if (!existsSync(snap)) return;
  const files = readdirSync(snap, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  for (const e of files) {
    const rel = join(e.parentPath, e.name).slice(snap.length + 1);
    const entry = manifest!.files.find((f) => f.path === rel)!;
    const bytes = readFileSync(join(snap, rel));
    expect(entry.sha256 ? sha256Hex(bytes) : gitBlobOid(bytes)).toBe(entry.sha256 ?? entry.oid);
  }
}

const finalPath = (cacheDir: string, path = SHARD) => new SnapshotCache(cacheDir, 'therem/CLEAR').finalPath(hub.server.commitOf('therem/CLEAR'), path);
const partialPath = (cacheDir: string, path = SHARD) => new SnapshotCache(cacheDir, 'therem/CLEAR').partialPath(hub.server.commitOf('therem/CLEAR'), path);
const opts = (cacheDir: string, more: object = {}) => ({ repo: 'therem/CLEAR', hubUrl: hub.server.url, cacheDir, configs: ['forget10'], token: undefined as string | undefined, ...more });

describe('gated repo', () => {
  const TOKEN = 'hf_gatedAccessToken0123456789';
  test('no token, a wrong token, the right token', async () => {
    hub.server.faults.requireToken = TOKEN;
    const cache = hub.freshCache();
    await expect(downloadRepo(opts(cache))).rejects.toThrow(/therem\/CLEAR is gated and needs an access token: set HF_TOKEN or pass --token/);
    await expect(downloadRepo(opts(cache, { token: 'hf_wrongToken' }))).rejects.toThrow(/refused the access token \(status 403\)/);
    const ok = await downloadRepo(opts(cache, { token: TOKEN }));
    expect(ok.downloaded).toContain(SHARD);
    expectConsistent(cache);
  });

  test('a malformed token is refused before any request', async () => {
    await expect(downloadRepo(opts(hub.freshCache(), { token: 'not-a-token' }))).rejects.toThrow(/malformed \(it must start with hf_\)/);
  });

  test('the CLI never prints the token: HF_TOKEN or --token, success or failure, with --debug', async () => {
    const secret = 'hf_TopSecretValue987654321';
    hub.server.faults.requireToken = secret;
    // Asynchronous child processes: the hub server runs in this process and must keep answering.
    const cli = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ status: number; out: string }>((resolve) => {
        execFile(
          process.execPath,
          ['bin/clearbench.js', 'download', '--hub-url', hub.server.url, '--configs', 'forget01', ...args],
          { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, HF_TOKEN: '', ...env }, encoding: 'utf8' },
          (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
      });
    const runs: { status: number; out: string }[] = await Promise.all([
      cli(['--cache-dir', hub.freshCache()], { HF_TOKEN: secret }), // succeeds
      cli(['--cache-dir', hub.freshCache(), '--token', secret]), // succeeds
      cli(['--cache-dir', hub.freshCache()], { HF_TOKEN: 'hf_OtherSecret11111' }), // refused
      cli(['--cache-dir', hub.freshCache(), '--debug'], { HF_TOKEN: 'hf_OtherSecret11111' }), // refused, with --debug
    ]);
    const closed = await startHubServer({ dir: hub.dir });
    await closed.close();
    runs.push(await cli(['--cache-dir', hub.freshCache(), '--hub-url', closed.url], { HF_TOKEN: secret })); // unreachable
    expect(runs.map((r) => r.status)).toEqual([0, 0, 1, 1, 1]);
    expect(runs[4].out).toContain(`clearbench: cannot reach the hub at ${closed.url} (ECONNREFUSED)`);
    expect(runs[2].out).toMatch(/^clearbench: dataset therem\/CLEAR refused the access token/m);
    for (const r of runs) {
      expect(r.out).not.toContain(secret);
      expect(r.out).not.toContain('hf_OtherSecret11111');
    }
  });
});

describe('cut-off transfer', () => {
  test('fails with a resumable partial and no final file; the next run resumes with Range', async () => {
    const cache = hub.freshCache();
    const size = statSync(join(hub.dir, SHARD)).size;
    hub.server.faults.truncate = { [SHARD]: 100 };
    const err = await downloadRepo(opts(cache)).then(() => undefined, (e: Error) => e);
    // Each attempt gets at most 100 bytes and appends them (3 attempts); how many arrive before
    // the dropped connection is the network's business, so read the count from the message.
    const m = new RegExp(`^download of ${SHARD} was cut off after (\\d+) of ${size} bytes .*run the command again to resume$`).exec(err?.message ?? '');
    expect(m).not.toBeNull();
    const got = Number(m![1]);
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(300);
    expect(existsSync(finalPath(cache))).toBe(false);
    expect(statSync(partialPath(cache)).size).toBe(got);
    expect(readFileSync(partialPath(cache)).equals(readFileSync(join(hub.dir, SHARD)).subarray(0, got))).toBe(true);
    expectConsistent(cache);
    delete hub.server.faults.truncate;
    const before = hub.server.requests.length;
    const r = await downloadRepo(opts(cache));
    expect(r.downloaded).toContain(SHARD);
    expect(hub.server.requests.slice(before).some((q) => q.path.endsWith(SHARD) && q.range === `bytes=${got}-${size - 1}`)).toBe(true);
    expect(existsSync(partialPath(cache))).toBe(false);
    expect(readFileSync(finalPath(cache)).equals(readFileSync(join(hub.dir, SHARD)))).toBe(true);
  });

  test('a short transfer recovered within one run (retries resume where they stopped)', async () => {
    const cache = hub.freshCache();
    const size = statSync(join(hub.dir, SHARD)).size;
    hub.server.faults.truncate = { [SHARD]: Math.ceil(size / 2) + 1 };
    const r = await downloadRepo(opts(cache));
    expect(r.downloaded).toContain(SHARD);
    expectConsistent(cache);
  });
});

describe('checksum mismatch', () => {
  test('damaged content is discarded, never renamed, and the error says so', async () => {
    const cache = hub.freshCache();
    hub.server.faults.corrupt = [SHARD];
    await expect(downloadRepo(opts(cache))).rejects.toThrow(
      new RegExp(`checksum mismatch for ${SHARD} from therem/CLEAR@[0-9a-f]{40} \\(sha256 expected [0-9a-f]{64}, got [0-9a-f]{64}\\); the damaged download was discarded`),
    );
    expect(existsSync(finalPath(cache))).toBe(false);
    expect(existsSync(partialPath(cache))).toBe(false);
    expectConsistent(cache);
    delete hub.server.faults.corrupt;
    expect((await downloadRepo(opts(cache))).downloaded).toContain(SHARD);
    expectConsistent(cache);
  });

  test('a stale partial (wrong bytes) resumes, fails the check, and restarts cleanly once', async () => {
    const cache = hub.freshCache();
    await expect(downloadRepo(opts(cache, { offline: true }))).rejects.toThrow(/offline: no cached copy of therem\/CLEAR@main/);
    // Seed the cache's listing, then plant 64 wrong bytes as the partial.
    await downloadRepo(opts(cache, { configs: ['forget01'] }));
    mkdirSync(join(partialPath(cache), '..'), { recursive: true });
    writeFileSync(partialPath(cache), Buffer.alloc(64, 7));
    const r = await downloadRepo(opts(cache, { refresh: true }));
    expect(r.downloaded).toContain(SHARD);
    expect(readFileSync(finalPath(cache)).equals(readFileSync(join(hub.dir, SHARD)))).toBe(true);
  });

  test('a server that ignores Range: the resume restarts from byte 0', async () => {
    const cache = hub.freshCache();
    await downloadRepo(opts(cache, { configs: ['forget01'] }));
    const good = readFileSync(join(hub.dir, SHARD));
    mkdirSync(join(partialPath(cache), '..'), { recursive: true });
    writeFileSync(partialPath(cache), good.subarray(0, 50));
    hub.server.faults.ignoreRange = true;
    await expect(downloadRepo(opts(cache, { refresh: true }))).resolves.toMatchObject({ downloaded: [SHARD] });
    expect(readFileSync(finalPath(cache)).equals(good)).toBe(true);
  });
});

describe('one-line errors for bad requests', () => {
  test('missing config, repo, revision; unreachable hub; bad repo id', async () => {
    const cache = hub.freshCache();
    await expect(downloadRepo(opts(cache, { configs: ['forget11'] }))).rejects.toThrow(/^therem\/CLEAR has no config 'forget11'; available: default, forget01/);
    await expect(downloadRepo(opts(cache, { repo: 'nobody/Nothing' }))).rejects.toThrow('dataset nobody/Nothing does not exist on');
    await expect(downloadRepo(opts(cache, { revision: 'v9' }))).rejects.toThrow("revision 'v9' does not exist in dataset therem/CLEAR; check --revision");
    const closed = await startHubServer({ dir: hub.dir });
    const url = closed.url;
    await closed.close();
    // (the refusal code itself is checked through the CLI below: Jest's fetch drops the error's cause)
    await expect(downloadRepo(opts(cache, { hubUrl: url }))).rejects.toThrow(new RegExp(`^cannot reach the hub at ${url} \\(.+\\); check the network or --hub-url, or use --offline`));
    await expect(downloadRepo(opts(cache, { repo: 'no-slash' }))).rejects.toThrow("'no-slash' is not a repo id");
    expectConsistent(cache);
  });
});

describe('a shard damaged after download', () => {
  test('loading names the file; the next download notices and repairs it', async () => {
    const cache = hub.freshCache();
    const r = await downloadRepo(opts(cache));
    const file = finalPath(cache);
    writeFileSync(file, Buffer.from('garbage, not parquet'));
    const ds = await openClear(r.dir);
    await expect(ds.loadConfig('forget10')).rejects.toThrow(`${file} is not a readable parquet file`);
    const again = await downloadRepo(opts(cache));
    expect(again.offline).toBe(false); // the cache no longer vouches for that file
    expect(again.downloaded).toEqual([SHARD]);
    expectConsistent(cache);
    expect((await ds.loadConfig('forget10')).length).toBeGreaterThan(0);
  });
});
