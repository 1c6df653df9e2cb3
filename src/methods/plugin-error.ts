/**
 * Why a plugin module failed to import, as one line: a syntax error names file:line:column (1-based, as
 * editors count) and the parser's message instead of tsx's "Transform failed with 1 error:" header, and a
 * TypeScript plugin that Node loads as CommonJS says how to make it an ES module.
 */
import { spawnSync } from 'node:child_process';
import { dirname, extname } from 'node:path';
import { isEsmScope } from './module-scope.ts';

export interface LoadFailure {
  reason: string;
  /** What to do about it. */
  fix: string;
}

const NOT_FOUND_FIX = 'check the path or install the package';
const SYNTAX_FIX = 'fix the syntax error in the plugin';

/** esbuild's (tsx's) lines "FILE:LINE:COL: ERROR: TEXT", COL counted from 0. */
const ESBUILD_ERROR = /^(.+):(\d+):(\d+): ERROR: (.*)$/;

function fromTransformError(message: string): string | null {
  const found = message.split('\n').map((l) => ESBUILD_ERROR.exec(l.trim())).filter((m) => m !== null);
  if (!found.length) return null;
  const [, file, line, col, text] = found[0];
  const more = found.length > 1 ? ` (and ${found.length - 1} more)` : '';
  return `syntax error at ${file}:${line}:${Number(col) + 1}: ${text}${more}`;
}

/**
 * Node's SyntaxError for an ES module carries no location; `node --check` prints it ("FILE:LINE", the
 * source line, a caret under the column). Only run after an import already failed.
 */
function locateJsSyntaxError(file: string, message: string): string {
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const lines = (r.stderr ?? '').split('\n');
  const at = /^(.+):(\d+)$/.exec(lines[0] ?? '');
  const caret = lines.findIndex((l, i) => i > 0 && /^\s*\^+\s*$/.test(l));
  if (!at || caret < 0) return `syntax error in ${file}: ${message}`;
  return `syntax error at ${file}:${at[2]}:${lines[caret].indexOf('^') + 1}: ${message}`;
}

/** @param file the plugin's absolute path, or null for a package name. */
export function describeLoadFailure(err: unknown, file: string | null): LoadFailure {
  const e = err as Error & { code?: string };
  const firstLine = String(e?.message ?? err).split('\n')[0];
  if (e?.name === 'TransformError') {
    return { reason: fromTransformError(e.message) ?? firstLine, fix: SYNTAX_FIX };
  }
  if (e instanceof SyntaxError && file && /\.[cm]?js$/.test(file)) {
    return { reason: locateJsSyntaxError(file, firstLine), fix: SYNTAX_FIX };
  }
  const ext = file ? extname(file) : '';
  if (file && (ext === '.ts' || ext === '.js') && !isEsmScope(dirname(file)) && /^ERR_REQUIRE_(CYCLE_MODULE|ESM|ASYNC_MODULE)$/.test(e?.code ?? '')) {
    return {
      reason: 'it loads as CommonJS here (no package.json with "type": "module" above it), so it cannot import the harness\'s ES modules',
      fix: `rename it to ${file.slice(0, -ext.length)}.m${ext.slice(1)} or put a package.json with {"type": "module"} in its directory`,
    };
  }
  return { reason: firstLine, fix: NOT_FOUND_FIX };
}
