/**
 * Writes every report of one run into the run directory (the pipeline calls this at the
 * end of a run): leaderboard.md/.csv/.json/.tex and report.html, each atomically.
 */
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { REPORT_FILES } from '../results/layout.ts';
import { buildLeaderboard } from './leaderboard.ts';
import { renderLeaderboard, type Format } from './render/index.ts';

export interface ReportPaths {
  markdown: string;
  csv: string;
  json: string;
  latex: string;
  html: string;
}

const FILES: Record<keyof ReportPaths, [string, Format]> = {
  markdown: [REPORT_FILES.markdown, 'md'],
  csv: [REPORT_FILES.csv, 'csv'],
  json: [REPORT_FILES.json, 'json'],
  latex: [REPORT_FILES.latex, 'latex'],
  html: [REPORT_FILES.html, 'html'],
};

export async function writeReports(runDir: string, options: { sortKey?: string } = {}): Promise<ReportPaths> {
  const dir = resolve(runDir);
  const lb = buildLeaderboard([dir], options);
  // Render everything before writing anything, so a failure leaves the old reports whole.
  const rendered = await Promise.all(
    Object.entries(FILES).map(async ([key, [file, format]]) => [key, join(dir, file), await renderLeaderboard(lb, format, dir)] as const),
  );
  const paths = {} as ReportPaths;
  for (const [key, path, text] of rendered) {
    writeFileAtomic(path, text);
    paths[key as keyof ReportPaths] = path;
  }
  return paths;
}
