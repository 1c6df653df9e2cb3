/**
 * Marks the best value per column among the unlearned models of one table (the
 * reference rows are what methods are measured against, so they never win: gold's
 * forget quality against itself is trivially perfect). Ties are all marked.
 */
import type { LeaderboardRow } from './group.ts';
import { TABLE_METRICS } from './metrics.ts';
import { compareBetter } from './sort.ts';

export function markBest(rows: readonly LeaderboardRow[]): LeaderboardRow[] {
  const best = new Map<LeaderboardRow, string[]>(rows.map((r) => [r, []]));
  const candidates = rows.filter((r) => r.role === 'unlearned');
  for (const m of TABLE_METRICS) {
    if (m.direction === 'none') continue;
    let top: number | null = null;
    for (const r of candidates) {
      const v = r.values[m.key].mean;
      if (v !== null && (top === null || compareBetter(m.direction, v, top) < 0)) top = v;
    }
    if (top === null) continue;
    for (const r of candidates) {
      const v = r.values[m.key].mean;
      if (v !== null && compareBetter(m.direction, v, top) === 0) best.get(r)!.push(m.key);
    }
  }
  return rows.map((r) => ({ ...r, best: best.get(r)! }));
}

/**
 * A headline card must not crown a model that bought its forgetting with its usefulness (gradient ascent
 * run to collapse scores a perfect Forget): its winners are taken among the unlearned models that keep
 * at least this share of target's Model Utility.
 */
export const KEEP_UTILITY_SHARE = 0.8;

export interface UsefulBest {
  /** KEEP_UTILITY_SHARE × target's mean Model Utility; null when the table has no target utility to compare with. */
  floor: number | null;
  /** The qualifying rows holding the best value (ties all); empty when none qualifies. */
  winners: LeaderboardRow[];
  value: number | null;
  /** Whether any unlearned row has the metric at all (no card without one). */
  anyValue: boolean;
}

/** The best unlearned rows by `key` among those at or above the utility floor (all unlearned rows without a target). */
export function bestAmongUseful(rows: readonly LeaderboardRow[], key: string): UsefulBest {
  const metric = TABLE_METRICS.find((m) => m.key === key);
  if (!metric || metric.direction === 'none') throw new Error(`bestAmongUseful: ${key} is not a ranked table metric`);
  const target = rows.find((r) => r.role === 'target');
  const targetUtility = target?.values.model_utility?.mean ?? null;
  const floor = targetUtility === null ? null : KEEP_UTILITY_SHARE * targetUtility;
  const withValue = rows.filter((r) => r.role === 'unlearned' && r.values[key].mean !== null);
  const useful = floor === null ? withValue : withValue.filter((r) => (r.values.model_utility.mean ?? -Infinity) >= floor);
  let value: number | null = null;
  for (const r of useful) {
    const v = r.values[key].mean as number;
    if (value === null || compareBetter(metric.direction, v, value) < 0) value = v;
  }
  const winners = value === null ? [] : useful.filter((r) => compareBetter(metric.direction, r.values[key].mean as number, value as number) === 0);
  return { floor, winners, value, anyValue: withValue.length > 0 };
}
