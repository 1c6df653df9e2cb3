/**
 * A loopback stand-in for the Hugging Face hub, serving local directories as dataset repos
 * through exactly the routes @huggingface/hub calls: revision info, tree listing (paginated
 * with a Link header), paths-info, and resolve with HEAD/Range, ETag and X-Repo-Commit.
 * Faults (gated repo, cut-off body, wrong content, ignored Range) let tests exercise the
 * download's error paths; hostile ones (paths that leave the repo, lying sizes, endless
 * bodies, redirects to another host, a listing that is not one) let them exercise its
 * defences. Binds to 127.0.0.1 only, and serves only regular files inside its directories:
 * request paths are checked like any repo path, symlinks leading out are not served.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gitBlobOid, sha256Hex } from './hashing.ts';
import { repoPathProblem } from './repo-path.ts';

export interface HubFaults {
  /** Gated repos: every request must carry `Authorization: Bearer <token>` (401 without, 403 wrong). */
  requireToken?: string;
  /** Cut the body of these files after this many bytes of each response, then drop the connection. */
  truncate?: Record<string, number>;
  /** Serve these files with one byte changed, while the listing keeps the true checksum. */
  corrupt?: string[];
  /** Answer resume requests (Range from a byte > 0) with the whole file, status 200. */
  ignoreRange?: boolean;
  /** Hostile: list (and serve) these files under another path, e.g. `../../x/evil.json`. */
  listAs?: Record<string, string>;
  /** Hostile: the listing gives these sizes (any JSON value) instead of the true ones. */
  listSize?: Record<string, unknown>;
  /** Hostile: after these files' content the body goes on (chunked, no length) up to ENDLESS_BYTES. */
  endless?: string[];
  /** Answer file requests with a 302 to the same path on this base URL (another origin: a CDN). */
  redirectTo?: string;
  /** Send this `X-Cache` header with file responses (the hub's CDN says e.g. "Hit from cloudfront"). */
  xCache?: string;
  /** Hostile: the tree listing answers this body instead (status 200, JSON content type). */
  badListing?: string;
  /** Answer file requests for these paths with a bare 404 (no X-Error-Code), as a CDN would. */
  notFound?: string[];
  /** Wait this long before each file response (lets concurrent downloads overlap). */
  delayMs?: number;
}

/** How far an `endless` body goes if the client keeps reading. */
export const ENDLESS_BYTES = 64 * 1024 * 1024;

export interface HubServerOptions {
  /** Served as therem/CLEAR; its `tofu/` folder, if present, as locuslab/TOFU. */
  dir?: string;
  /** Explicit repo id → directory map (adds to / overrides `dir`). */
  repos?: Record<string, string>;
  /** Model repos: repo id → directory, served at /api/models/… and /<owner>/<name>/resolve/…. */
  models?: Record<string, string>;
  port?: number;
  faults?: HubFaults;
  /** Entries per tree page (the hub pages large listings). */
  pageSize?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  authorized: boolean;
  /** body bytes written for a file response (set when the response ends) */
  sent?: number;
}

export interface HubServer {
  url: string;
  port: number;
  faults: HubFaults;
  requests: LoggedRequest[];
  /** commit sha served for a repo (a dataset's unless type is 'model') */
  commitOf(repo: string, type?: 'dataset' | 'model'): string;
  close(): Promise<void>;
}

interface RepoFile {
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  content: Buffer;
}

interface Repo {
  id: string;
  commit: string;
  files: RepoFile[];
  byPath: Map<string, RepoFile>;
}

const LFS = /\.(parquet|arrow|png|jpe?g|webp|bin|safetensors|onnx|gz|zip)$/i;

function lfsPointer(sha: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\nsize ${size}\n`;
}

/** A regular file inside `root`: symlinks only when they resolve to a file inside it (never a directory: no loops). */
function servable(full: string, root: string): 'dir' | 'file' | undefined {
  const st = lstatSync(full);
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (!st.isSymbolicLink()) return undefined;
  const target = realpathSync(full);
  return target.startsWith(root + sep) && statSync(target).isFile() ? 'file' : undefined;
}

function loadRepo(id: string, dir: string, skip: (rel: string) => boolean): Repo {
  const files: RepoFile[] = [];
  const root = realpathSync(dir);
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const rel = relative(dir, full).split(sep).join('/');
      if (name.startsWith('.') || skip(rel)) continue;
      const kind = servable(full, root);
      if (kind === 'dir') walk(full);
      else if (kind === 'file') {
        const content = readFileSync(full);
        if (LFS.test(name)) {
          const sha = sha256Hex(content);
          const pointer = lfsPointer(sha, content.byteLength);
          files.push({ path: rel, size: content.byteLength, oid: gitBlobOid(Buffer.from(pointer)), lfs: { oid: sha, size: content.byteLength, pointerSize: pointer.length }, content });
        } else files.push({ path: rel, size: content.byteLength, oid: gitBlobOid(content), content });
      }
    }
  };
  walk(dir);
  // A stable commit id: same files → same sha, so cached snapshots stay valid across restarts.
  const h = createHash('sha1');
  for (const f of files) h.update(`${f.path}\0${f.lfs?.oid ?? f.oid}\n`);
  return { id, commit: h.digest('hex'), files, byPath: new Map(files.map((f) => [f.path, f])) };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': data.byteLength, ...headers });
  res.end(data);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: message }, { 'X-Error-Code': code, 'X-Error-Message': message });
}

function treeEntry(f: RepoFile, faults: HubFaults = {}) {
  const size = faults.listSize && f.path in faults.listSize ? faults.listSize[f.path] : f.size;
  const path = faults.listAs?.[f.path] ?? f.path;
  return { type: 'file', oid: f.oid, size, path, ...(f.lfs ? { lfs: { ...f.lfs, size } } : {}) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const repos = new Map<string, Repo>();
  if (opts.dir) {
    repos.set('therem/CLEAR', loadRepo('therem/CLEAR', opts.dir, (rel) => rel === 'tofu'));
    const tofu = join(opts.dir, 'tofu');
    if (existsSync(tofu)) repos.set('locuslab/TOFU', loadRepo('locuslab/TOFU', tofu, () => false));
  }
  for (const [id, dir] of Object.entries(opts.repos ?? {})) repos.set(id, loadRepo(id, dir, () => false));
  // Model repos live in a namespace of their own, as on the hub.
  const modelKey = (id: string) => `model:${id}`;
  for (const [id, dir] of Object.entries(opts.models ?? {})) repos.set(modelKey(id), loadRepo(id, dir, () => false));
  const faults: HubFaults = opts.faults ?? {};
  const pageSize = opts.pageSize ?? 1000;
  const requests: LoggedRequest[] = [];
  let base = '';
  const lastModified = new Date(0).toISOString();

  const resolveRev = (repo: Repo, rev: string) => (rev === 'main' || rev === 'HEAD' || rev === repo.commit ? repo.commit : undefined);

  /** A `listAs` file whose hostile path, once the client's URL parser has normalised it, is `pathname`. */
  const aliasAt = (pathname: string): { repo: Repo; file: RepoFile } | undefined => {
    for (const repo of repos.values()) {
      for (const [real, alias] of Object.entries(faults.listAs ?? {})) {
        const file = repo.byPath.get(real);
        if (file && new URL(`${base}/datasets/${repo.id}/resolve/${repo.commit}/${alias}`).pathname === pathname) return { repo, file };
      }
    }
    return undefined;
  };

  const serveFile = async (req: IncomingMessage, res: ServerResponse, url: URL, repo: Repo, f: RepoFile, log: LoggedRequest) => {
    if (faults.redirectTo) {
      res.writeHead(302, { Location: `${faults.redirectTo}${url.pathname}${url.search}`, 'Content-Length': 0 });
      return res.end();
    }
    if (faults.notFound?.includes(f.path)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('Not Found');
    }
    if (faults.delayMs) await sleep(faults.delayMs);
    let content = f.content;
    if (faults.corrupt?.includes(f.path)) {
      content = Buffer.from(content);
      content[content.length >> 1] ^= 0xff;
    }
    const etag = `"${f.lfs?.oid ?? f.oid}"`;
    const common: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: etag,
      'X-Repo-Commit': repo.commit,
      ...(f.lfs ? { 'X-Linked-Size': f.size, 'X-Linked-ETag': etag } : {}),
      ...(faults.xCache ? { 'X-Cache': faults.xCache } : {}),
    };
    let start = 0;
    let end = content.length - 1;
    let status = 200;
    const range = req.headers.range;
    if (range && !(faults.ignoreRange && !/^bytes=0-/.test(range))) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m && (m[1] || m[2])) {
        if (m[1]) {
          start = Number(m[1]);
          end = m[2] ? Math.min(Number(m[2]), content.length - 1) : content.length - 1;
        } else {
          start = Math.max(0, content.length - Number(m[2]));
        }
        if (start >= content.length || start > end) {
          res.writeHead(416, { ...common, 'Content-Range': `bytes */${content.length}` });
          return res.end();
        }
        status = 206;
        common['Content-Range'] = `bytes ${start}-${end}/${content.length}`;
      }
    }
    const body = content.subarray(start, end + 1);
    if (faults.endless?.includes(f.path) && req.method === 'GET' && range !== 'bytes=0-0') {
      // The promised bytes, then more for as long as the client reads (bounded, so tests end).
      res.writeHead(status, common);
      let closed = false;
      res.once('close', () => (closed = true));
      let sent = body.length;
      res.write(body);
      const filler = Buffer.alloc(64 * 1024, 0x5a);
      while (!closed && sent < ENDLESS_BYTES) {
        sent += filler.length;
        if (!res.write(filler)) await drainedOrClosed(res);
      }
      log.sent = sent;
      return res.end();
    }
    res.writeHead(status, { ...common, 'Content-Length': body.length });
    if (req.method === 'HEAD') return res.end();
    const cut = faults.truncate?.[f.path];
    if (cut !== undefined && cut < body.length) {
      // Send part of the promised body, then drop the connection: a cut-off transfer.
      log.sent = cut;
      res.write(body.subarray(0, cut), () => res.socket?.destroy());
      return;
    }
    log.sent = body.length;
    return res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const log: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, range: req.headers.range, authorized: !!token };
    requests.push(log);
    const alias = aliasAt(url.pathname);
    if (alias && (req.method === 'GET' || req.method === 'HEAD')) return serveFile(req, res, url, alias.repo, alias.file, log);

    let segs: string[];
    try {
      segs = url.pathname.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    } catch {
      return sendError(res, 400, 'BadRequest', 'Malformed percent-encoding in the request path');
    }
    // /api/datasets/<o>/<n>/... or /datasets/<o>/<n>/resolve/...; models: /api/models/<o>/<n>/... or /<o>/<n>/resolve/...
    const api = segs[0] === 'api';
    const s = api ? segs.slice(1) : segs[0] === 'datasets' ? segs : ['models', ...segs];
    if ((s[0] !== 'datasets' && s[0] !== 'models') || s.length < 4) return sendError(res, 404, 'NotFound', 'Not found');
    const repoId = `${s[1]}/${s[2]}`;
    const repo = repos.get(s[0] === 'models' ? modelKey(repoId) : repoId);
    if (!repo) return sendError(res, 404, 'RepoNotFound', 'Repository not found');
    if (faults.requireToken && token !== faults.requireToken) {
      const msg = `Access to ${s[0] === 'models' ? 'model' : 'dataset'} ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
      return sendError(res, token ? 403 : 401, 'GatedRepo', msg);
    }
    const action = s[3];
    const rev = s[4] ?? '';
    const commit = resolveRev(repo, rev);
    if (!commit) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const rest = s.slice(5).join('/');
    // The same rule as for paths the client accepts: nothing that could name a file outside the repo.
    const unsafe = rest ? repoPathProblem(rest) : undefined;
    if (unsafe) return sendError(res, 400, 'BadRequest', `Invalid path ${JSON.stringify(rest)} (${unsafe})`);

    if (api && action === 'revision' && req.method === 'GET') {
      return sendJson(res, 200, {
        _id: createHash('sha1').update(repoId).digest('hex').slice(0, 24),
        id: repoId,
        author: s[1],
        sha: commit,
        private: false,
        gated: faults.requireToken ? 'manual' : false,
        disabled: false,
        downloads: 0,
        likes: 0,
        lastModified,
        tags: [],
        siblings: repo.files.map((f) => ({ rfilename: f.path })),
      });
    }
    if (api && action === 'tree' && req.method === 'GET') {
      if (faults.badListing !== undefined) {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        return res.end(faults.badListing);
      }
      const recursive = url.searchParams.get('recursive') === 'true' || url.searchParams.get('recursive') === '1';
      const prefix = rest ? `${rest}/` : '';
      if (rest && !repo.files.some((f) => f.path.startsWith(prefix))) return sendError(res, 404, 'EntryNotFound', `${rest} does not exist`);
      const entries: object[] = [];
      const dirs = new Set<string>();
      for (const f of repo.files) {
        if (!f.path.startsWith(prefix)) continue;
        const tail = f.path.slice(prefix.length);
        const slash = tail.indexOf('/');
        if (slash >= 0 && !dirs.has(prefix + tail.slice(0, slash))) {
          dirs.add(prefix + tail.slice(0, slash));
          entries.push({ type: 'directory', oid: '0'.repeat(40), size: 0, path: prefix + tail.slice(0, slash) });
        }
        if (slash < 0 || recursive) entries.push(treeEntry(f, faults));
      }
      const cursor = Number(url.searchParams.get('cursor') ?? '0');
      const page = entries.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = {};
      if (cursor + pageSize < entries.length) {
        const next = new URL(url.pathname + url.search, base);
        next.searchParams.set('cursor', String(cursor + pageSize));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      return sendJson(res, 200, page, headers);
    }
    if (api && action === 'paths-info' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as { paths?: string[]; expand?: boolean };
      const out = (body.paths ?? []).flatMap((p) => {
        const f = repo.byPath.get(p);
        if (!f) return [];
        return [{ ...treeEntry(f, faults), ...(body.expand ? { lastCommit: { id: commit, title: 'synthetic dataset', date: lastModified }, securityFileStatus: { status: 'safe' } } : {}) }];
      });
      return sendJson(res, 200, out);
    }
    if (!api && action === 'resolve' && (req.method === 'GET' || req.method === 'HEAD')) {
      const f = repo.byPath.get(rest);
      if (!f) return sendError(res, 404, 'EntryNotFound', `Entry not found: ${rest}`);
      return serveFile(req, res, url, repo, f, log);
    }
    return sendError(res, 404, 'NotFound', `No route for ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', (err as Error).message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    port,
    faults,
    requests,
    commitOf: (id, type = 'dataset') => {
      const r = repos.get(type === 'model' ? modelKey(id) : id);
      if (!r) throw new Error(`not serving ${id}`);
      return r.commit;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
