/** Renders a leaderboard in one of the published formats. */
import { extname } from 'node:path';
import { UserError } from '../../util/errors.ts';
import type { Leaderboard } from '../leaderboard.ts';
import { renderCsv } from './csv.ts';
import { renderHtml } from './html.ts';
import { renderJson } from './json.ts';
import { renderLatex } from './latex.ts';
import { renderMarkdown } from './markdown.ts';

export const FORMATS = ['md', 'csv', 'json', 'latex', 'html'] as const;
export type Format = (typeof FORMATS)[number];

/** File extensions that imply a format when --format is not given. */
export const FORMAT_BY_EXTENSION: Record<string, Format> = {
  '.md': 'md', '.markdown': 'md', '.csv': 'csv', '.json': 'json', '.tex': 'latex', '.html': 'html', '.htm': 'html',
};

/**
 * The format of a report: --format when given, else the one --out's extension names, else Markdown on stdout.
 * An --out extension that names no format, or names another one than --format, is an error rather than a file
 * whose content its name misrepresents (board.xlsx holding Markdown).
 */
export function chooseFormat(out: string | undefined, format: Format | undefined): Format {
  if (out === undefined) return format ?? 'md';
  const ext = extname(out).toLowerCase();
  const implied = Object.hasOwn(FORMAT_BY_EXTENSION, ext) ? FORMAT_BY_EXTENSION[ext] : undefined;
  const known = Object.keys(FORMAT_BY_EXTENSION).join(', ');
  if (format === undefined) {
    if (implied) return implied;
    const what = ext ? `extension "${ext}"` : 'no extension';
    throw new UserError(`--out ${out} has ${what}, which names no report format; use one of ${known}, or pass --format (${FORMATS.join(', ')})`);
  }
  if (implied && implied !== format) {
    throw new UserError(`--format ${format} contradicts --out ${out} (a ${ext} file holds ${implied}); change the extension or drop --format`);
  }
  return format;
}

/**
 * @param relativeTo directory that paths in the output (run_dir) are relative to:
 *   the directory the output is written to, or the working directory for stdout.
 */
export async function renderLeaderboard(lb: Leaderboard, format: Format, relativeTo: string): Promise<string> {
  switch (format) {
    case 'md': return renderMarkdown(lb, { relativeTo });
    case 'csv': return renderCsv(lb, { relativeTo });
    case 'json': return renderJson(lb, { relativeTo });
    case 'latex': return renderLatex(lb);
    case 'html': return renderHtml(lb, { relativeTo });
  }
}
