/**
 * Paths that come from a hub (tree listings, dataset-card `data_files`, request paths served
 * by `serve-hub`) are joined onto local directories, so each must be a plain relative POSIX
 * path that cannot leave the directory it is joined to, whatever the host platform.
 */
import { UserError } from '../../util/errors.ts';

/** Why `path` is not a safe repo path, or undefined when it is. */
export function repoPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'not a string';
  if (path === '') return 'empty';
  if (path.includes('\0')) return 'contains NUL';
  // Other control characters would split the one-line messages that name the file.
  if (/[\x01-\x1f\x7f]/.test(path)) return 'contains a control character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'absolute';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  for (const seg of path.split('/')) {
    if (seg === '..') return "has a '..' segment";
    if (seg === '.') return "has a '.' segment";
    if (seg === '') return 'has an empty segment';
  }
  return undefined;
}

export interface PathSource {
  /** what the path is, e.g. "file path from the hub" */
  what: string;
  /** what to do about it */
  fix: string;
}

const FROM_HUB: PathSource = { what: 'file path from the hub', fix: 'this hub is broken or hostile: check --hub-url' };

/**
 * `path` itself when it is a safe repo path of `repo`; otherwise a one-line UserError naming
 * the repo and the path (JSON-quoted, so NUL or newlines cannot hide in the message).
 */
export function safeRepoPath(repo: string, path: unknown, source: PathSource = FROM_HUB): string {
  const problem = repoPathProblem(path);
  if (problem === undefined) return path as string;
  const shown = typeof path === 'string' ? JSON.stringify(path) : String(path);
  throw new UserError(`${repo}: refusing the ${source.what} ${shown} (${problem}); only relative paths inside the repo are accepted, so ${source.fix}`);
}
