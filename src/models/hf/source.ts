/**
 * Where a Hugging Face model named in a config (`model.hf`) lives: a local directory in the hub layout is
 * used as it is; a repo id is fetched at its revision through the data layer's hub client (same cache,
 * checksums, resume and token rules as the datasets), or found in the cache when it is there already.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { downloadRepo } from '../../data/hub/download.ts';
import { UserError } from '../../util/errors.ts';

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;

/** The model's directory, and for a repo id the commit its revision resolved to. */
export async function resolveHfSource(hf: string, revision: string, hub: { cacheDir?: string; hubUrl?: string } = {}): Promise<{ dir: string; commit: string | null }> {
  if (existsSync(hf)) {
    if (!statSync(hf).isDirectory()) throw new UserError(`model.hf ${hf} is a file; point it at the model's directory`);
    return { dir: resolve(hf), commit: null };
  }
  if (REPO_ID.test(hf)) {
    const r = await downloadRepo({ repo: hf, type: 'model', revision, cacheDir: hub.cacheDir, hubUrl: hub.hubUrl });
    return { dir: r.dir, commit: r.commit };
  }
  throw new UserError(`model.hf ${hf} is neither a directory nor a repo id (owner/name)`);
}
