/**
 * The hub's tree listing, checked entry by entry before anything is written: each file path
 * must stay inside the snapshot, each size must be one a download can reach, each checksum
 * must look like one. Anything else is a one-line error naming the repo and the entry.
 */
import { UserError } from '../../util/errors.ts';
import { jsonRequestError, malformedAnswer, redact } from './client.ts';
import type { HubContext, HubFetch } from './client.ts';
import { safeRepoPath } from './repo-path.ts';
import type { ManifestFile } from './snapshot-cache.ts';

/** Far above any single file the hub stores: a listed size beyond it cannot be a real file. */
export const MAX_FILE_BYTES = 2 ** 40;

const SHA1 = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const REQUEST = 'file listing request';
const EXPECTED = 'a file listing';

/** One listing entry as a manifest file; undefined for directories (and other non-file entries). */
export function manifestFileOf(entry: unknown, ctx: HubContext): ManifestFile | undefined {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return fail(ctx, 'an entry is not an object');
  const e = entry as { type?: unknown; path?: unknown; size?: unknown; oid?: unknown; lfs?: { oid?: unknown; size?: unknown } | null };
  if (typeof e.path !== 'string') return fail(ctx, 'an entry has no path');
  if (e.type !== 'file') return undefined;
  const path = safeRepoPath(ctx.repo, e.path);
  const lfs = e.lfs && typeof e.lfs === 'object' ? e.lfs : undefined;
  const size = lfs ? lfs.size : e.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_BYTES) {
    throw new UserError(
      redact(`${ctx.repo}: the hub lists ${JSON.stringify(path)} with size ${JSON.stringify(size) ?? 'none'}, a size no download can satisfy; the hub at ${ctx.hubUrl} is broken: check --hub-url`, ctx.token),
    );
  }
  if (typeof e.oid !== 'string' || !SHA1.test(e.oid)) return fail(ctx, `${JSON.stringify(path)} has no git object id`);
  if (lfs && (typeof lfs.oid !== 'string' || !SHA256.test(lfs.oid))) return fail(ctx, `${JSON.stringify(path)} has no LFS sha256`);
  return { path, size, oid: e.oid, ...(lfs ? { sha256: lfs.oid as string } : {}) };
}

/** Refuse a listing that names the same file twice (two sizes or checksums for one path). */
export function checkUnique(files: readonly ManifestFile[], ctx: HubContext): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) fail(ctx, `${JSON.stringify(f.path)} is listed twice`);
    seen.add(f.path);
  }
}

function fail(ctx: HubContext, detail: string): never {
  throw malformedAnswer(ctx, REQUEST, EXPECTED, detail);
}

/** A failure while reading the listing: a body that is not JSON or not a list reads as such. */
export function listingError(err: unknown, ctx: HubContext, codes?: HubFetch): Error {
  return jsonRequestError(err, ctx, REQUEST, EXPECTED, 'a list', codes);
}
