/**
 * A hostile (or broken) hub, loopback only: listings and cards with paths that leave the
 * cache, sizes that lie, bodies that never end, redirects to another host, listings that are
 * not listings, files that 404. Nothing may be written outside the snapshot, no body read
 * past its listed size, the token sent nowhere but the hub, and every failure is one line.
 */
import { describe, test, expect, beforeAll, afterAll, afterEach } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { startHubServer, ENDLESS_BYTES } from '../../src/data/hub/server.ts';
import type { HubServer } from '../../src/data/hub/server.ts';
import { downloadRepo } from '../../src/data/hub/download.ts';
import { SnapshotCache } from '../../src/data/hub/snapshot-cache.ts';
import { repoPathProblem, safeRepoPath } from '../../src/data/hub/repo-path.ts';
import { configsFromCard } from '../../src/data/card.ts';
import { hubFetch } from '../../src/data/hub/client.ts';
import { UserError } from '../../src/util/errors.ts';
import { servedTinyDataset } from './helpers.ts';

const SHARD = 'forget10/train-00000-of-00001.parquet';
const hub = servedTinyDataset('hostile');

const opts = (cacheDir: string, more: object = {}) => ({ repo: 'therem/CLEAR', hubUrl: hub.server.url, cacheDir, configs: ['forget10'], token: undefined as string | undefined, ...more });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => e);

/** Every file under `d`, relative, with '/' separators. */
function filesUnder(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(d, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

describe('repo paths', () => {
  test('relative POSIX paths inside the repo pass; everything that could leave it is refused', () => {
    for (const ok of ['README.md', 'forget10/train-00000-of-00001.parquet', 'a/b/c..d', '..a', 'x/.hidden', 'dir/*.parquet', 'data/**']) {
      expect([ok, repoPathProblem(ok)]).toEqual([ok, undefined]);
    }
    const bad: [unknown, string][] = [
      ['../x', "has a '..' segment"],
      ['a/../../x', "has a '..' segment"],
      ['a/..', "has a '..' segment"],
      ['/etc/passwd', 'absolute'],
      ['a\\..\\..\\x', 'contains a backslash'],
      ['C:/Windows/x', 'starts with a drive letter'],
      ['c:x', 'starts with a drive letter'],
      ['a\0b', 'contains NUL'],
      ['a\nb', 'contains a control character'],
      ['./a', "has a '.' segment"],
      ['a//b', 'has an empty segment'],
      ['a/', 'has an empty segment'],
      ['', 'empty'],
      [42, 'not a string'],
    ];
    for (const [p, why] of bad) expect([p, repoPathProblem(p)]).toEqual([p, why]);
    expect(() => safeRepoPath('owner/repo', '../../tmp/x/evil.json')).toThrow(
      new UserError(
        `owner/repo: refusing the file path from the hub "../../tmp/x/evil.json" (has a '..' segment); only relative paths inside the repo are accepted, so this hub is broken or hostile: check --hub-url`,
      ),
    );
    expect(() => safeRepoPath('o/r', 'a\0b\nc')).toThrow(/^o\/r: refusing the file path from the hub "a\\u0000b\\nc" \(contains NUL\)/);
  });

  test('the snapshot cache refuses to name a file outside its directories (a manifest cached before these checks)', () => {
    const cache = new SnapshotCache(join(hub.root, 'unit-cache'), 'o/r');
    const commit = 'a'.repeat(40);
    expect(cache.finalPath(commit, 'a/b.parquet')).toBe(join(cache.snapshotDir(commit), 'a/b.parquet'));
    for (const p of ['../train-evil.parquet', '/tmp/x', 'a\\..\\..\\x', 'C:x', 'a\0']) {
      expect(() => cache.finalPath(commit, p)).toThrow(UserError);
      expect(() => cache.partialPath(commit, p)).toThrow(UserError);
      expect(() => cache.lockPath(commit, p)).toThrow(UserError);
    }
  });

  test('dataset card data_files patterns that leave the repo are refused, naming the repo, config and pattern', () => {
    const card = (df: string) => `---\nconfigs:\n- config_name: evil\n  data_files:\n  - split: train\n    path: ${JSON.stringify(df)}\n---\n`;
    expect(configsFromCard(card('evil/*.json'), 'o/r')).toEqual([{ name: 'evil', patterns: ['evil/*.json'] }]);
    expect(() => configsFromCard(card('../../tmp/x/evil.json'), 'o/r')).toThrow(
      `o/r: refusing the data_files pattern of config "evil" "../../tmp/x/evil.json" (has a '..' segment); only relative paths inside the repo are accepted, so the dataset card is broken or hostile: fix its data_files, or use another revision`,
    );
    expect(() => configsFromCard(card('/tmp/x/*.json'), 'o/r')).toThrow(/\(absolute\)/);
    expect(() => configsFromCard(card('C:\\\\x\\\\*.json'), 'o/r')).toThrow(/\(contains a backslash\)/);
  });
});

describe('path traversal from the hub', () => {
  let hostile: HubServer;
  let outside: string;
  let evilAt: string;
  let layoutCache: string;
  let cardCache: string;
  const PRECIOUS = 'the user file that must survive\n';

  beforeAll(async () => {
    // Three small repos: one laid out without a card, one whose card takes the hostile path in, one with a hostile card only.
    const layout = join(hub.root, 'repo-layout');
    mkdirSync(join(layout, 'data'), { recursive: true });
    writeFileSync(join(layout, 'data/train-00000-of-00001.parquet'), 'PAR1 not really');
    const card = (df: string) => `---\nconfigs:\n- config_name: evil\n  data_files: ${JSON.stringify(df)}\n---\n`;
    const carded = join(hub.root, 'repo-carded');
    mkdirSync(carded, { recursive: true });
    writeFileSync(join(carded, 'evil.json'), '{"hostile": true}\n');
    writeFileSync(join(carded, 'README.md'), card('**/evil.json')); // a safe pattern that matches the hostile listing path
    const cardOnly = join(hub.root, 'repo-card-only');
    mkdirSync(cardOnly, { recursive: true });
    writeFileSync(join(cardOnly, 'other.json'), '{"hostile": true}\n');
    writeFileSync(join(cardOnly, 'README.md'), card('../../../../../../../../../../../../tmp/evil.json'));
    outside = join(hub.root, 'outside');
    mkdirSync(outside, { recursive: true });
    evilAt = join(outside, 'evil.json');
    writeFileSync(evilAt, PRECIOUS);
    layoutCache = hub.freshCache();
    cardCache = hub.freshCache();
    hostile = await startHubServer({ repos: { 'evil/layout': layout, 'evil/carded': carded, 'evil/card-only': cardOnly } });
    // Climb from exactly where the snapshot will be to evilAt.
    const traversal = relative(new SnapshotCache(cardCache, 'evil/carded').snapshotDir(hostile.commitOf('evil/carded')), evilAt);
    hostile.faults.listAs = { 'data/train-00000-of-00001.parquet': '../train-evil.parquet', 'evil.json': traversal };
  });
  afterAll(async () => {
    await hostile.close();
  });

  test("a listing path '../train-evil.parquet' is refused, and nothing lands outside the snapshot", async () => {
    const err = await failure(downloadRepo({ repo: 'evil/layout', hubUrl: hostile.url, cacheDir: layoutCache }));
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toBe(
      `evil/layout: refusing the file path from the hub "../train-evil.parquet" (has a '..' segment); only relative paths inside the repo are accepted, so this hub is broken or hostile: check --hub-url`,
    );
    // Nothing at all was written for the hostile entry: no file, no partial, anywhere in the cache.
    expect(filesUnder(layoutCache).filter((p) => p.includes('train-evil'))).toEqual([]);
  });

  test('a listing path (named by the card) that climbs to a file outside the cache neither writes nor overwrites it', async () => {
    const err = await failure(downloadRepo({ repo: 'evil/carded', hubUrl: hostile.url, cacheDir: cardCache }));
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toMatch(/^evil\/carded: refusing the file path from the hub "(\.\.\/)+outside\/evil\.json" \(has a '\.\.' segment\)/);
    expect(readFileSync(evilAt, 'utf8')).toBe(PRECIOUS);
    expect(readdirSync(outside)).toEqual(['evil.json']);
  });

  test('an absolute listing path is refused', async () => {
    const saved = hostile.faults.listAs;
    hostile.faults.listAs = { 'evil.json': join(outside, 'abs.json') };
    try {
      const err = await failure(downloadRepo({ repo: 'evil/carded', hubUrl: hostile.url, cacheDir: hub.freshCache() }));
      expect(err?.message).toBe(
        `evil/carded: refusing the file path from the hub ${JSON.stringify(join(outside, 'abs.json'))} (absolute); only relative paths inside the repo are accepted, so this hub is broken or hostile: check --hub-url`,
      );
      expect(existsSync(join(outside, 'abs.json'))).toBe(false);
    } finally {
      hostile.faults.listAs = saved;
    }
  });

  test('a card pattern that leaves the repo is refused even when the listing is clean', async () => {
    const err = await failure(downloadRepo({ repo: 'evil/card-only', hubUrl: hostile.url, cacheDir: hub.freshCache() }));
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toMatch(/^evil\/card-only: refusing the data_files pattern of config "evil" "(\.\.\/)+tmp\/evil\.json" \(has a '\.\.' segment\)/);
  });
});

describe('serve-hub serves nothing outside its directory', () => {
  let served: HubServer;
  let secretFile: string;
  beforeAll(async () => {
    const repoDir = join(hub.root, 'served');
    mkdirSync(repoDir, { recursive: true });
    writeFileSync(join(repoDir, 'inside.json'), '{"ok": true}\n');
    secretFile = join(hub.root, 'secret.txt');
    writeFileSync(secretFile, 'SECRET outside the served directory\n');
    symlinkSync(secretFile, join(repoDir, 'leak.json'));
    symlinkSync(join(repoDir, 'inside.json'), join(repoDir, 'alias.json')); // stays inside: fine
    served = await startHubServer({ repos: { 'o/served': repoDir } });
  });
  afterAll(async () => {
    await served.close();
  });

  /** A raw GET: the path goes out exactly as written (fetch would normalise it first). */
  const rawGet = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: served.port, path, method: 'GET' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  test('traversal in the request path, plain or percent-encoded, is a 400; a symlink leading out is not served', async () => {
    const base = '/datasets/o/served/resolve/main';
    expect((await rawGet(`${base}/inside.json`)).status).toBe(200);
    for (const p of ['..%2F..%2F..%2Fsecret.txt', '%2e%2e%2f%2e%2e%2fsecret.txt', 'a%5C..%5C..%5Csecret.txt', 'a%00b']) {
      const r = await rawGet(`${base}/${p}`);
      expect([p, r.status]).toEqual([p, 400]);
      expect(r.body).not.toContain('SECRET');
    }
    const leak = await rawGet(`${base}/leak.json`);
    expect(leak.status).toBe(404);
    expect(leak.body).not.toContain('SECRET');
    expect((await rawGet(`${base}/alias.json`)).body).toBe('{"ok": true}\n');
    const listing = await fetch(`${served.url}/api/datasets/o/served/tree/main?recursive=true`).then((r) => r.json() as Promise<{ path: string }[]>);
    expect(listing.map((e) => e.path).sort()).toEqual(['alias.json', 'inside.json']);
  });
});

describe('bodies are read no further than the listed size', () => {
  test('a body that goes on past the file is stopped at the listed size; nothing is kept', async () => {
    const cache = hub.freshCache();
    const size = statSync(join(hub.dir, SHARD)).size;
    hub.server.faults.endless = [SHARD];
    const before = hub.server.requests.length;
    const err = await failure(downloadRepo(opts(cache)));
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toMatch(
      new RegExp(`^the hub sent more than the listed ${size} bytes of ${SHARD} \\(therem/CLEAR@[0-9a-f]{40}\\); the transfer was stopped there and discarded: the hub at ${hub.server.url} is broken or hostile, check --hub-url$`),
    );
    const cacheApi = new SnapshotCache(cache, 'therem/CLEAR');
    const commit = hub.server.commitOf('therem/CLEAR');
    expect(existsSync(cacheApi.finalPath(commit, SHARD))).toBe(false);
    expect(existsSync(cacheApi.partialPath(commit, SHARD))).toBe(false);
    // The connection was closed early: the server got nowhere near the end of its endless body.
    await new Promise((r) => setTimeout(r, 200));
    const bodies = hub.server.requests.slice(before).filter((q) => q.path.endsWith(SHARD) && q.range !== 'bytes=0-0');
    expect(bodies.length).toBe(1); // not retried: a body longer than listed is no cut-off
    expect(bodies[0].sent).toBeLessThan(ENDLESS_BYTES / 4);
  });

  test('a listing that claims fewer (or more) bytes than the hub serves fails at once, not "run again to resume"', async () => {
    const size = statSync(join(hub.dir, SHARD)).size;
    for (const listed of [120, size + 1000]) {
      const cache = hub.freshCache();
      hub.server.faults.listSize = { [SHARD]: listed };
      const err = await failure(downloadRepo(opts(cache)));
      expect(err?.message).toMatch(
        new RegExp(`^${SHARD} in therem/CLEAR@[0-9a-f]{40} is listed at ${listed} bytes but the hub serves ${size}; the hub contradicts itself, so resuming cannot help`),
      );
      expect(filesUnder(cache).filter((p) => p.includes('forget10/'))).toEqual([]);
    }
  });

  test('a listed size no file can have is refused before anything is fetched', async () => {
    for (const listed of [-1, 1.5, 2 ** 50, '120', null]) {
      hub.server.faults.listSize = { [SHARD]: listed };
      const before = hub.server.requests.length;
      const err = await failure(downloadRepo(opts(hub.freshCache())));
      expect(err?.message).toBe(
        `therem/CLEAR: the hub lists ${JSON.stringify(SHARD)} with size ${JSON.stringify(listed)}, a size no download can satisfy; the hub at ${hub.server.url} is broken: check --hub-url`,
      );
      expect(hub.server.requests.slice(before).some((q) => q.path.includes('/resolve/'))).toBe(false);
    }
  });
});

describe('the token goes to the hub origin only', () => {
  const TOKEN = 'hf_redirectedTokenMustStayHome42';
  for (const xCache of ['Hit from cloudfront', undefined]) {
    test(`a redirect to another host${xCache ? ` answering X-Cache: ${xCache}` : ''} never carries the token`, async () => {
      // The "CDN": the same files on another port, which is another origin.
      const cdn = await startHubServer({ dir: hub.dir, faults: xCache ? { xCache } : {} });
      try {
        hub.server.faults.requireToken = TOKEN;
        hub.server.faults.redirectTo = cdn.url;
        const cache = hub.freshCache();
        const before = hub.server.requests.length;
        const r = await downloadRepo(opts(cache, { token: TOKEN }));
        expect(r.downloaded).toContain(SHARD);
        expect(readFileSync(join(r.dir, SHARD)).equals(readFileSync(join(hub.dir, SHARD)))).toBe(true);
        const cdnSaw = cdn.requests.filter((q) => q.path.includes('/resolve/'));
        expect(cdnSaw.length).toBeGreaterThan(0);
        expect(cdnSaw.filter((q) => q.authorized)).toEqual([]);
        // The hub itself still gets the token (it is gated).
        expect(hub.server.requests.slice(before).filter((q) => q.path.includes('/api/')).every((q) => q.authorized)).toBe(true);
        // A failure on the CDN side: the message names the file and carries no token.
        cdn.faults.notFound = [SHARD];
        const err = await failure(downloadRepo(opts(hub.freshCache(), { token: TOKEN })));
        expect(err?.message).toMatch(new RegExp(`^${SHARD} is listed in dataset therem/CLEAR@main but the hub answered status 404 for it`));
        expect(`${err?.message}\n${err?.stack}`).not.toContain(TOKEN);
        expect(cdn.requests.filter((q) => q.authorized)).toEqual([]);
      } finally {
        await cdn.close();
      }
    });
  }
});

describe('answers that are not what the hub API returns', () => {
  test('a tree listing that is not a listing: one line naming the repo and revision', async () => {
    const cases: [string, string][] = [
      ['<html><body>502 Bad Gateway</body></html>', 'not JSON'],
      ['{"entries": []}', 'not a list'],
      ['[null]', 'an entry is not an object'],
      ['[{"type": "file", "size": 3}]', 'an entry has no path'],
      ['[{"type": "file", "path": "a.json", "size": 3}]', '"a.json" has no git object id'],
      [`[{"type": "file", "path": "a.parquet", "size": 3, "oid": "${'1'.repeat(40)}", "lfs": {"size": 3}}]`, '"a.parquet" has no LFS sha256'],
      [`[{"type": "file", "path": "a.json", "size": 3, "oid": "${'1'.repeat(40)}"}, {"type": "file", "path": "a.json", "size": 4, "oid": "${'2'.repeat(40)}"}]`, '"a.json" is listed twice'],
    ];
    for (const [body, detail] of cases) {
      hub.server.faults.badListing = body;
      const err = await failure(downloadRepo(opts(hub.freshCache())));
      expect([body, err?.message]).toEqual([
        body,
        `the hub at ${hub.server.url} answered the file listing request for dataset therem/CLEAR@main with something that is not a file listing (${detail}); check --hub-url`,
      ]);
      expect(err).toBeInstanceOf(UserError);
    }
  });

  test('an API answer larger than any hub sends is cut off, not read into memory to the end', async () => {
    const hf = hubFetch(hub.server.url, fetch, 1000);
    const res = await hf.fetch(`${hub.server.url}/api/datasets/therem/CLEAR/tree/main?recursive=true`);
    const err = await failure(res.json());
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toBe(`the hub at ${hub.server.url} sent more than 1000 bytes for /api/datasets/therem/CLEAR/tree/main; check --hub-url`);
    // Within the bound, the same answer reads normally.
    const whole = await hubFetch(hub.server.url, fetch).fetch(`${hub.server.url}/api/datasets/therem/CLEAR/tree/main?recursive=true`);
    expect(((await whole.json()) as unknown[]).length).toBeGreaterThan(10);
  });

  test('a GET that meets a reset connection before any answer is sent once more (a closed keep-alive socket)', async () => {
    let resets = 0;
    let always = false;
    const flaky = createServer((req, res) => {
      if (always || resets === 0) {
        resets++;
        return req.socket.resetAndDestroy();
      }
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    try {
      const res = await hubFetch(url, fetch).fetch(`${url}/api/x`);
      expect(await res.json()).toEqual({ ok: true });
      expect(resets).toBe(1);
      // Only once: a hub that always resets is unreachable.
      always = true;
      const err = await failure(hubFetch(url, fetch).fetch(`${url}/api/x`));
      expect(resets).toBe(3);
      expect(err?.name).toBe('TypeError');
    } finally {
      flaky.closeAllConnections();
      await new Promise((r) => flaky.close(r));
    }
  });

  test('a 404 for one listed file names the file, not the dataset', async () => {
    hub.server.faults.notFound = [SHARD];
    const err = await failure(downloadRepo(opts(hub.freshCache())));
    expect(err?.message).toBe(
      `${SHARD} is listed in dataset therem/CLEAR@main but the hub answered status 404 for it; try again later, or pick another --revision`,
    );
  });
});
