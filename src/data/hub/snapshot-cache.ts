/**
 * On-disk layout of downloaded repos, keyed by repo and commit:
 *   <cache>/hub/datasets--<owner>--<name>/
 *     refs/<revision>            commit sha the revision resolved to
 *     manifests/<commit>.json    the hub's file listing at that commit (paths, sizes, checksums)
 *     snapshots/<commit>/<path>  verified files only (written by rename, never partially)
 *     partial/<commit>/<path>.part  bytes of an unfinished download, kept so it can resume
 *     partial/<commit>/<path>.part.lock  held by the process downloading that file
 *     verified/<commit>.json     size + mtime of each file whose checksum was checked
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.ts';
import type { Checksum } from './hashing.ts';
import { safeRepoPath } from './repo-path.ts';

export type RepoType = 'dataset' | 'model';

export interface ManifestFile {
  path: string;
  size: number;
  /** git blob sha1 from the listing */
  oid: string;
  /** sha256 of the content, for LFS files */
  sha256?: string;
}

export interface Manifest {
  repo: string;
  commit: string;
  files: ManifestFile[];
}

export function checksumOf(f: ManifestFile): Checksum {
  return f.sha256 ? { algo: 'sha256', expected: f.sha256 } : { algo: 'git-sha1', expected: f.oid, size: f.size };
}

interface VerifiedRecord {
  size: number;
  mtimeMs: number;
}

export class SnapshotCache {
  readonly repoDir: string;
  private verified = new Map<string, Record<string, VerifiedRecord>>();

  constructor(
    readonly cacheDir: string,
    readonly repo: string,
    /** Dataset and model repos of one name are different repos (the hub cache's `datasets--` / `models--`). */
    readonly type: RepoType = 'dataset',
  ) {
    this.repoDir = join(cacheDir, 'hub', `${type}s--${repo.replace(/\//g, '--')}`);
  }

  snapshotDir(commit: string): string {
    return join(this.repoDir, 'snapshots', commit);
  }
  finalPath(commit: string, path: string): string {
    return this.inside(this.snapshotDir(commit), path, '');
  }
  partialPath(commit: string, path: string): string {
    return this.inside(join(this.repoDir, 'partial', commit), path, '.part');
  }
  /** Lock file of one file's download (see file-lock.ts). */
  lockPath(commit: string, path: string): string {
    return `${this.partialPath(commit, path)}.lock`;
  }

  /** `root/path+suffix`, refusing (last line of defence, e.g. for a manifest cached by an older version) any path that leaves root. */
  private inside(root: string, path: string, suffix: string): string {
    return join(root, `${safeRepoPath(this.repo, path)}${suffix}`);
  }

  private refPath(revision: string): string {
    // encodeURIComponent leaves '.' and '..' alone, and those would name refs/ itself or the repo dir.
    return join(this.repoDir, 'refs', encodeURIComponent(revision).replace(/^\.\.?$/, (m) => m.replace(/\./g, '%2E')));
  }
  readRef(revision: string): string | undefined {
    const p = this.refPath(revision);
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined;
  }
  writeRef(revision: string, commit: string): void {
    writeFileAtomic(this.refPath(revision), commit);
  }

  readManifest(commit: string): Manifest | undefined {
    const p = join(this.repoDir, 'manifests', `${commit}.json`);
    if (!existsSync(p)) return undefined;
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as Manifest;
    } catch {
      return undefined; // a damaged manifest is treated as absent: the next online run rewrites it
    }
  }
  writeManifest(m: Manifest): void {
    writeFileAtomic(join(this.repoDir, 'manifests', `${m.commit}.json`), JSON.stringify(m, null, 1));
  }

  private readRecords(commit: string): Record<string, VerifiedRecord> {
    const p = join(this.repoDir, 'verified', `${commit}.json`);
    try {
      return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, VerifiedRecord>) : {};
    } catch {
      return {};
    }
  }
  private records(commit: string): Record<string, VerifiedRecord> {
    let r = this.verified.get(commit);
    if (!r) {
      r = this.readRecords(commit);
      this.verified.set(commit, r);
    }
    return r;
  }

  /** True when the final file exists and is exactly the file whose checksum was verified. */
  isVerified(commit: string, f: ManifestFile): boolean {
    const rec = this.records(commit)[f.path];
    const p = this.finalPath(commit, f.path);
    if (!rec || !existsSync(p)) return false;
    const st = statSync(p);
    return st.size === f.size && rec.size === f.size && rec.mtimeMs === st.mtimeMs;
  }

  markVerified(commit: string, path: string): void {
    const st = statSync(this.finalPath(commit, path));
    // Merge with what is on disk: another download into this cache may have recorded files meanwhile.
    const r = Object.assign(this.readRecords(commit), this.records(commit));
    this.verified.set(commit, r);
    r[path] = { size: st.size, mtimeMs: st.mtimeMs };
    writeFileAtomic(join(this.repoDir, 'verified', `${commit}.json`), JSON.stringify(r));
  }

  forget(commit: string, path: string): void {
    delete this.records(commit)[path];
  }

  ensureParent(file: string): void {
    mkdirSync(dirname(file), { recursive: true });
  }
}
