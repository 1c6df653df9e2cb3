/** Text formatting shared by the renderers: numbers at a metric's precision, seeds, hyperparameters, paths. */
import { relative, sep } from 'node:path';
import type { LeaderboardRow, Stat } from './group.ts';
import type { Direction, Metric } from './metrics.ts';

export const ARROWS: Record<Direction, string> = { up: '↑', down: '↓', zero: '→0', none: '' };

/** A number at the metric's precision; p-values below 1e-3 in scientific notation. Never "-0.000". */
export function formatNumber(metric: Pick<Metric, 'style' | 'digits'>, x: number): string {
  if (metric.style === 'pvalue' && x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(1);
  const s = x.toFixed(metric.digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** Mean and half-width as separate strings (half null when there is no interval). */
export function formatStat(metric: Metric, stat: Stat): { mean: string; ci95: string | null } | null {
  if (stat.mean === null) return null;
  return { mean: formatNumber(metric, stat.mean), ci95: stat.ci95 === null ? null : formatNumber(metric, stat.ci95) };
}

export function seedsOf(row: LeaderboardRow): (number | null)[] {
  return row.members.map((e) => e.meta.seed);
}

/** The seed values of a row's evaluations, e.g. "1, 2, 3" ("" when none has a seed). */
export function formatSeeds(row: LeaderboardRow, separator = ', '): string {
  const seeds = seedsOf(row).filter((s): s is number => s !== null);
  return seeds.join(separator);
}

/** The Seeds column: how many evaluations (one per seed) the row's values average. */
export function seedCount(row: LeaderboardRow): string {
  return String(row.members.length);
}

function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `key=value` pairs in key order, e.g. "alpha=1, beta=0.1, lr=0.0001". */
export function formatHyperparameters(hp: Record<string, unknown>): string {
  return Object.keys(hp)
    .sort()
    .map((k) => `${k}=${formatValue(hp[k])}`)
    .join(', ');
}

/** A path relative to `base`, with forward slashes ("." for base itself). */
export function relativePath(base: string, target: string): string {
  const r = relative(base, target);
  return r === '' ? '.' : r.split(sep).join('/');
}

export function sectionTitle(benchmark: string, forgetSplit: string): string {
  return `${benchmark} · ${forgetSplit}`;
}

/** How many listed paths a note names before it says "and N more". */
const LISTED_MISSING = 8;

/**
 * What an incomplete run lacks, as one sentence (the CLI's note, the Markdown and HTML
 * footnotes), so a partial table is never taken for a complete one.
 */
export function incompleteNote(run: { expected: number; missing: readonly string[] }): string {
  const shown = run.missing.slice(0, LISTED_MISSING).join(', ');
  const more = run.missing.length > LISTED_MISSING ? ` and ${run.missing.length - LISTED_MISSING} more` : '';
  return (
    `${run.missing.length} of ${run.expected} planned evaluations have no results yet and are not in the tables ` +
    `(${shown}${more}); run the same config again to finish the run`
  );
}
