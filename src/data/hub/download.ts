/**
 * `clearbench download`: fetch a dataset repo (CLEAR, TOFU) or a model repo at one revision into the cache
 * with @huggingface/hub, several files at a time, each verified against the hub's checksum
 * (LFS sha256, else git blob sha1) before it is renamed to its final name. Unfinished
 * downloads stay in `partial/` and resume with a Range request on the next attempt. Each
 * file is fetched under a lock file, so concurrent downloads into one cache take turns per
 * file; no body is read past the size the listing gives.
 */
import { existsSync, readFileSync, rmSync, statSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { datasetInfo, downloadFile, listFiles, modelInfo } from '@huggingface/hub';
import PQueue from 'p-queue';
import { UserError } from '../../util/errors.ts';
import { withLock } from '../../util/pid-lock.ts';
import { resolveCacheDir } from '../cache-dir.ts';
import { configsFromCard, configsFromLayout, filesOfConfig } from '../card.ts';
import type { ConfigFiles } from '../card.ts';
import { hashFile, startHash } from './hashing.ts';
import { hubError, hubFetch, jsonRequestError, RangeIgnoredError, redact } from './client.ts';
import type { HubContext, HubFetch } from './client.ts';
import { checkUnique, listingError, manifestFileOf } from './listing.ts';
import { checksumOf, SnapshotCache } from './snapshot-cache.ts';
import type { Manifest, ManifestFile, RepoType } from './snapshot-cache.ts';
import { silentProgress } from './progress.ts';
import type { ProgressReporter } from './progress.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';
const COMMIT = /^[0-9a-f]{40}$/;

export interface DownloadOptions {
  /** owner/name of a dataset repo (therem/CLEAR, locuslab/TOFU) or, with type 'model', a model repo */
  repo: string;
  /** 'dataset' (default) or 'model': a model repo has no configs, its model files are fetched (modelFiles). */
  type?: RepoType;
  revision?: string;
  /** config names, or 'all' (default) */
  configs?: string[] | 'all';
  cacheDir?: string;
  hubUrl?: string;
  /** access token; defaults to $HF_TOKEN. Never printed. */
  token?: string;
  /** use only the cache (fail if it lacks something) */
  offline?: boolean;
  /** ask the hub even when the cache already holds the revision */
  refresh?: boolean;
  /** files downloaded at once */
  concurrency?: number;
  /** attempts per file after a cut-off transfer, each resuming where the last stopped */
  retries?: number;
  progress?: ProgressReporter;
  /** fetch to use (tests); defaults to the global one */
  fetch?: typeof fetch;
}

export interface DownloadResult {
  /** snapshot directory: the repo's files at `commit`, usable by openDataset */
  dir: string;
  commit: string;
  configs: string[];
  downloaded: string[];
  skipped: string[];
  /** true when no request was made */
  offline: boolean;
}

function configsOf(dir: string, manifest: Manifest): ConfigFiles[] {
  const paths = manifest.files.map((f) => f.path);
  const readme = `${dir}/README.md`;
  const declared = existsSync(readme) ? configsFromCard(readFileSync(readme, 'utf8'), manifest.repo) : undefined;
  return declared ?? configsFromLayout(paths);
}

/** The manifest files the requested configs need (plus the dataset card). */
function wantedFiles(manifest: Manifest, configs: ConfigFiles[], requested: string[] | 'all', repo: string): { files: ManifestFile[]; names: string[] } {
  const byName = new Map(configs.map((c) => [c.name, c]));
  const names = requested === 'all' ? configs.map((c) => c.name) : requested;
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length) {
    throw new UserError(`${repo} has no config ${unknown.map((u) => `'${u}'`).join(', ')}; available: ${[...byName.keys()].join(', ')}`);
  }
  const paths = manifest.files.map((f) => f.path);
  const want = new Set<string>(paths.filter((p) => p === 'README.md'));
  for (const n of names) for (const p of filesOfConfig(byName.get(n)!, paths)) want.add(p);
  return { files: manifest.files.filter((f) => want.has(f.path)), names };
}

/**
 * The files of a model repo a Hugging Face model kind reads: top-level JSON (config, index, tokenizer,
 * generation and preprocessor configs, a processor's chat_template.json) and chat_template.jinja, safetensors
 * weights and the card; not PyTorch pickles, other
 * frameworks' weights or folders (e.g. Llama's original/ checkpoint), which would double the download.
 * @throws UserError when the repo has no safetensors weights (pickled weights are not read: unsafe to load).
 */
export function modelFiles(files: readonly ManifestFile[], repo: string, commit: string): ManifestFile[] {
  const want = files.filter((f) => !f.path.includes('/') && (/\.(json|safetensors)$/.test(f.path) || f.path === 'chat_template.jinja' || f.path === 'README.md'));
  if (!want.some((f) => f.path.endsWith('.safetensors'))) {
    throw new UserError(`${repo}@${commit.slice(0, 12)} has no .safetensors weights (clearbench does not load pickled .bin/.pth files); pick a revision or repo that has them`);
  }
  return want;
}

function wantedOf(type: RepoType, manifest: Manifest, dir: string, requested: string[] | 'all', repo: string): { files: ManifestFile[]; names: string[] } {
  return type === 'model' ? { files: modelFiles(manifest.files, repo, manifest.commit), names: [] } : wantedFiles(manifest, configsOf(dir, manifest), requested, repo);
}

/** Try the cache alone; undefined when it cannot answer the request. */
function fromCache(cache: SnapshotCache, revision: string, requested: string[] | 'all', repo: string): DownloadResult | { missing: string } {
  const commit = COMMIT.test(revision) ? revision : cache.readRef(revision);
  if (!commit || !COMMIT.test(commit)) return { missing: `no cached copy of ${repo}@${revision}` };
  const manifest = cache.readManifest(commit);
  if (!manifest) return { missing: `no file listing cached for ${repo}@${commit}` };
  const dir = cache.snapshotDir(commit);
  const { files, names } = wantedOf(cache.type, manifest, dir, requested, repo);
  const absent = files.filter((f) => !cache.isVerified(commit, f)).map((f) => f.path);
  if (absent.length) return { missing: `${absent.length} file(s) not in the cache (e.g. ${absent[0]})` };
  return { dir, commit, configs: names, downloaded: [], skipped: files.map((f) => f.path), offline: true };
}

interface FileJob {
  cache: SnapshotCache;
  commit: string;
  file: ManifestFile;
  ctx: HubContext;
  hf: HubFetch;
  progress: ProgressReporter;
  retries: number;
}

/**
 * Append `body` to the file `part`, each chunk on disk before the next is read (so a cut-off
 * keeps every byte received). Reading stops, and false is returned, as soon as the body goes
 * past `limit` bytes; the extra bytes are not written.
 */
async function appendBody(part: string, body: ReadableStream<Uint8Array>, limit: number, onChunk: (chunk: Uint8Array) => void): Promise<boolean> {
  const fh = await open(part, 'a');
  const reader = body.getReader();
  let written = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      if (written + value.byteLength > limit) {
        await reader.cancel().catch(() => {}); // closes the connection: the rest is never received
        return false;
      }
      await fh.write(value);
      written += value.byteLength;
      onChunk(value);
    }
  } finally {
    reader.releaseLock();
    await fh.close();
  }
}

/** Stream the rest of one file into its partial, verify, and rename it into the snapshot. */
async function fetchOne(job: FileJob): Promise<void> {
  const { cache, commit, file, ctx, hf, progress } = job;
  const part = cache.partialPath(commit, file.path);
  const final = cache.finalPath(commit, file.path);
  const sum = checksumOf(file);
  cache.ensureParent(part);
  let restartedForChecksum = false;
  for (let attempt = 0; ; attempt++) {
    let offset = existsSync(part) ? statSync(part).size : 0;
    if (offset > file.size) {
      rmSync(part);
      offset = 0;
    }
    if (!existsSync(part)) writeFileSync(part, ''); // an empty file has nothing to fetch but still gets verified
    const hash = offset ? await hashFile(part, sum) : startHash(sum);
    progress.fileStart(file.path, file.size, offset);
    try {
      if (offset < file.size) {
        let blob: Blob | null;
        try {
          blob = await downloadFile({
            repo: { type: cache.type, name: ctx.repo },
            path: file.path,
            revision: commit,
            hubUrl: ctx.hubUrl,
            accessToken: ctx.token,
            fetch: hf.fetch,
            xet: false,
          });
        } catch (err) {
          throw hubError(err, ctx, hf);
        }
        if (!blob) throw new UserError(`${file.path} is listed but missing in ${ctx.repo}@${commit}; try again later`);
        if (blob.size !== file.size) {
          rmSync(part, { force: true });
          throw new UserError(
            `${file.path} in ${ctx.repo}@${commit} is listed at ${file.size} bytes but the hub serves ${blob.size}; ` +
              'the hub contradicts itself, so resuming cannot help: try again later, or pick another --revision',
          );
        }
        const body = (offset ? blob.slice(offset) : blob).stream();
        if (!(await appendBody(part, body, file.size - offset, (chunk) => {
          hash.update(chunk);
          progress.fileAdvance(file.path, chunk.byteLength);
        }))) {
          rmSync(part, { force: true });
          throw new UserError(
            `the hub sent more than the listed ${file.size} bytes of ${file.path} (${ctx.repo}@${commit}); the transfer was stopped there and discarded: ` +
              `the hub at ${ctx.hubUrl} is broken or hostile, check --hub-url`,
          );
        }
      }
    } catch (err) {
      progress.fileDone(file.path);
      if (err instanceof RangeIgnoredError || hf.takeRangeIgnored(file.path)) {
        rmSync(part, { force: true }); // cannot resume against this server: start over
        if (attempt < job.retries) continue;
      }
      if (err instanceof UserError) throw err;
      const got = existsSync(part) ? statSync(part).size : 0;
      if (attempt < job.retries && got > offset) continue; // progress was made: resume
      throw new UserError(
        `download of ${file.path} was cut off after ${got} of ${file.size} bytes (${redact(typeof err === 'string' ? err : String((err as Error)?.message), ctx.token)}); ` +
          'run the command again to resume',
      );
    }
    progress.fileDone(file.path);
    const got = statSync(part).size;
    if (got !== file.size) {
      if (got > file.size) rmSync(part);
      if (got < file.size && attempt < job.retries) continue;
      throw new UserError(`download of ${file.path} ended at ${got} of ${file.size} bytes; run the command again to resume`);
    }
    const actual = hash.digest('hex');
    if (actual !== sum.expected) {
      rmSync(part, { force: true });
      // A resumed file may have had a stale beginning: one clean restart before giving up.
      if (offset > 0 && !restartedForChecksum) {
        restartedForChecksum = true;
        continue;
      }
      throw new UserError(
        `checksum mismatch for ${file.path} from ${ctx.repo}@${commit} (${sum.algo} expected ${sum.expected}, got ${actual}); ` +
          'the damaged download was discarded: run the command again',
      );
    }
    cache.ensureParent(final);
    renameSync(part, final);
    cache.markVerified(commit, file.path);
    return;
  }
}

/**
 * True when the cached final file matches the listing's checksum (checked once, then recorded).
 * With `discard` (only while holding the file's lock) a final file that does not match is removed.
 */
async function alreadyHave(cache: SnapshotCache, commit: string, f: ManifestFile, discard: boolean): Promise<boolean> {
  if (cache.isVerified(commit, f)) return true;
  const p = cache.finalPath(commit, f.path);
  if (!existsSync(p)) return false;
  const sum = checksumOf(f);
  if (statSync(p).size === f.size && (await hashFile(p, sum)).digest('hex') === sum.expected) {
    cache.markVerified(commit, f.path);
    return true;
  }
  if (discard) {
    rmSync(p); // not what the hub has at this commit
    cache.forget(commit, f.path);
  }
  return false;
}

/**
 * Fetch one file unless the cache has it, holding the file's lock: a concurrent download into
 * the same cache waits here, then finds the file done.
 */
async function getFile(job: FileJob): Promise<'downloaded' | 'skipped'> {
  return withLock(job.cache.lockPath(job.commit, job.file.path), async () => {
    if (await alreadyHave(job.cache, job.commit, job.file, true)) return 'skipped';
    await fetchOne(job);
    return 'downloaded';
  });
}

/** One config of a repo at a commit: its files as the hub lists them. */
export interface RepoConfig {
  name: string;
  files: { path: string; size: number }[];
  /** Total bytes of its files. */
  bytes: number;
}

export interface RepoContents {
  commit: string;
  /** The snapshot directory (it holds the dataset card). */
  dir: string;
  configs: RepoConfig[];
}

/**
 * A repo's configs at a revision, from its file listing and dataset card, fetching nothing but the card
 * (from the cache when it has that revision): what a run checks before any large download.
 */
export async function repoContents(opts: Omit<DownloadOptions, 'configs'>): Promise<RepoContents> {
  const { dir, commit } = await downloadRepo({ ...opts, configs: [] });
  const manifest = new SnapshotCache(resolveCacheDir(opts.cacheDir), opts.repo, opts.type).readManifest(commit);
  if (!manifest) throw new UserError(`no file listing cached for ${opts.repo}@${commit}; run \`clearbench download\` again`);
  const paths = manifest.files.map((f) => f.path);
  const size = new Map(manifest.files.map((f) => [f.path, f.size]));
  const configs = configsOf(dir, manifest).map((c): RepoConfig => {
    const files = filesOfConfig(c, paths).map((path) => ({ path, size: size.get(path)! }));
    return { name: c.name, files, bytes: files.reduce((a, f) => a + f.size, 0) };
  });
  return { commit, dir, configs };
}

export async function downloadRepo(opts: DownloadOptions): Promise<DownloadResult> {
  const repo = opts.repo;
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new UserError(`'${repo}' is not a repo id; use owner/name, e.g. therem/CLEAR`);
  const revision = opts.revision ?? 'main';
  const requested = opts.configs ?? 'all';
  const type = opts.type ?? 'dataset';
  if (type === 'model' && opts.configs !== undefined && opts.configs !== 'all') throw new Error('a model repo has no configs');
  const cache = new SnapshotCache(resolveCacheDir(opts.cacheDir), repo, type);

  if (opts.offline || !opts.refresh) {
    const cached = fromCache(cache, revision, requested, repo);
    if ('dir' in cached) return cached;
    if (opts.offline) {
      throw new UserError(`offline: ${cached.missing} in ${cache.cacheDir}; run \`clearbench download\` without --offline first`);
    }
  }

  const hubUrl = (opts.hubUrl ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  const token = opts.token ?? (process.env.HF_TOKEN || undefined);
  const ctx: HubContext = { repo, revision, hubUrl, token };
  const hf = hubFetch(hubUrl, opts.fetch);
  const progress = opts.progress ?? silentProgress;

  let commit: string;
  try {
    const ask = { name: repo, revision, hubUrl, accessToken: token, fetch: hf.fetch, additionalFields: ['sha'] as const };
    const info = type === 'model' ? await modelInfo({ ...ask, additionalFields: ['sha'] }) : await datasetInfo({ ...ask, additionalFields: ['sha'] });
    commit = String((info as { sha?: unknown }).sha ?? '');
  } catch (err) {
    throw jsonRequestError(err, ctx, 'revision request', 'revision info', 'an object', hf);
  }
  if (!COMMIT.test(commit)) throw new UserError(`the hub at ${hubUrl} gave no commit id for ${repo}@${revision}; check --hub-url`);
  const files: ManifestFile[] = [];
  try {
    for await (const e of listFiles({ repo: { type, name: repo }, revision: commit, recursive: true, hubUrl, accessToken: token, fetch: hf.fetch })) {
      const f = manifestFileOf(e, ctx);
      if (f) files.push(f);
    }
  } catch (err) {
    throw listingError(err, ctx, hf);
  }
  checkUnique(files, ctx);
  const manifest: Manifest = { repo, commit, files };
  cache.writeManifest(manifest);
  cache.writeRef(revision, commit);

  const job = (file: ManifestFile): FileJob => ({ cache, commit, file, ctx: { ...ctx, path: file.path }, hf, progress, retries: opts.retries ?? 2 });
  const downloaded: string[] = [];
  const skipped: string[] = [];
  // The card decides which files make up each config, so it comes first.
  const card = files.find((f) => f.path === 'README.md');
  if (card) {
    if ((await alreadyHave(cache, commit, card, false)) || (await getFile(job(card))) === 'skipped') skipped.push(card.path);
    else downloaded.push(card.path);
  }
  const dir = cache.snapshotDir(commit);
  const { files: wanted, names } = wantedOf(type, manifest, dir, requested, repo);
  const todo: ManifestFile[] = [];
  for (const f of wanted) {
    if (f === card) continue;
    if (await alreadyHave(cache, commit, f, false)) skipped.push(f.path);
    else todo.push(f);
  }
  progress.start(
    todo.reduce((s, f) => s + f.size, 0),
    todo.length,
  );
  const queue = new PQueue({ concurrency: opts.concurrency ?? 4 });
  try {
    await Promise.all(
      todo.map((f) =>
        queue.add(async () => {
          ((await getFile(job(f))) === 'downloaded' ? downloaded : skipped).push(f.path);
        }),
      ),
    );
  } finally {
    queue.clear();
    await queue.onIdle();
    progress.stop();
  }
  return { dir, commit, configs: names, downloaded: downloaded.sort(), skipped: skipped.sort(), offline: false };
}
