/**
 * A leaderboard: results collected from run directories, seeds collapsed, one table
 * (section) per benchmark and forget split, rows sorted and best values marked.
 * Every renderer takes this one structure.
 */
import { collectRuns, type IncompleteRun, type TrainCurve } from './collect.ts';
import { markBest } from './best.ts';
import { groupSeeds, type LeaderboardRow } from './group.ts';
import { DEFAULT_SORT, sortRows } from './sort.ts';

export interface Section {
  benchmark: string;
  forget_split: string;
  rows: LeaderboardRow[];
}

export interface Leaderboard {
  /** Absolute run directories the results were read from. */
  runDirs: string[];
  sections: Section[];
  curves: TrainCurve[];
  sortKey: string;
  /** Model directories that hold no evaluation yet (left out of the tables). */
  unevaluated: { runDir: string; modelDir: string }[];
  /** Runs whose plan names evaluations that have no results yet. */
  incomplete: IncompleteRun[];
}

export interface LeaderboardOptions {
  sortKey?: string;
}

export function buildLeaderboard(runDirs: readonly string[], options: LeaderboardOptions = {}): Leaderboard {
  const sortKey = options.sortKey ?? DEFAULT_SORT;
  const collected = collectRuns(runDirs);
  const rows = groupSeeds(collected.evals);

  const bySection = new Map<string, Section>();
  for (const r of rows) {
    const key = `${r.benchmark}\u0000${r.forget_split}`;
    let s = bySection.get(key);
    if (!s) bySection.set(key, (s = { benchmark: r.benchmark, forget_split: r.forget_split, rows: [] }));
    s.rows.push(r);
  }
  const sections = [...bySection.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => ({ ...s, rows: markBest(sortRows(s.rows, sortKey)) }));

  return { runDirs: collected.runDirs, sections, curves: collected.curves, sortKey, unevaluated: collected.unevaluated, incomplete: collected.incomplete };
}
