/**
 * Turns evaluations into leaderboard rows: evaluations of one configuration (same
 * benchmark, forget split, role, modality and meta.group) with different seeds collapse into one
 * row holding mean ± 95 % interval per value (see stats.ts). A model without a group
 * is its own configuration.
 */
import { UserError } from '../util/errors.ts';
import type { EvalRecord } from './collect.ts';
import type { Role } from '../protocol/vocabulary.ts';
import { METRICS, TASK_QUANTITIES, type TaskQuantity } from './metrics.ts';
import { meanCI95 } from './stats.ts';
import { withoutWallClock } from './wall-clock.ts';

export interface Stat {
  /** null when no member has the value. */
  mean: number | null;
  /** Half-width of the 95 % interval; null with fewer than two values. */
  ci95: number | null;
  /** How many members had the value. */
  n: number;
}

export interface LeaderboardRow {
  /** The model's name, or the group's name when several seeds were collapsed. */
  name: string;
  role: Role;
  method: string | null;
  group: string | null;
  modality: string | null;
  benchmark: string;
  forget_split: string;
  hyperparameters: Record<string, unknown>;
  /** The evaluations behind this row, ordered by seed. */
  members: EvalRecord[];
  values: Record<string, Stat>;
  tasks: Record<string, Record<TaskQuantity, Stat>>;
  /** Metric keys in which this row holds the best value of its table (set by markBest). */
  best: string[];
}

/** JSON with sorted object keys, so equal configurations compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function statOf(values: (number | null)[]): Stat {
  const xs = values.filter((x): x is number => x !== null);
  if (xs.length === 0) return { mean: null, ci95: null, n: 0 };
  return meanCI95(xs);
}

function describeMember(e: EvalRecord): string {
  return `${e.runDir}/${e.evalDir}`;
}

/** What must match for two evaluations of one seed to be the same result: everything but the wall clock. */
function resultKey(e: EvalRecord): string {
  return canonical(withoutWallClock(e.meta, e.summary));
}

/**
 * Drops a member that repeats a seed with identical results (the same run passed twice, or run twice: only
 * its wall-clock times differ, and the first one given is kept); conflicting repeats are an error.
 */
function dedupeSeeds(members: EvalRecord[], label: string): EvalRecord[] {
  const bySeed = new Map<number | null, EvalRecord>();
  const kept: EvalRecord[] = [];
  for (const e of members) {
    const prev = bySeed.get(e.meta.seed);
    if (!prev) {
      bySeed.set(e.meta.seed, e);
      kept.push(e);
      continue;
    }
    if (resultKey(prev) !== resultKey(e)) {
      throw new UserError(
        `${label}: seed ${e.meta.seed} appears twice with different results (${describeMember(prev)} and ${describeMember(e)}); ` +
          'give the runs distinct seeds or groups, or pass only one of the run directories',
      );
    }
  }
  return kept;
}

export function groupSeeds(evals: readonly EvalRecord[]): LeaderboardRow[] {
  const groups = new Map<string, EvalRecord[]>();
  for (const e of evals) {
    // The modality the unlearning saw is part of the configuration: text and vision runs of one group stay apart.
    const key = canonical([e.summary.benchmark, e.summary.forget_split, e.meta.role, e.meta.modality, e.meta.group ?? e.meta.name]);
    const list = groups.get(key);
    if (list) list.push(e);
    else groups.set(key, [e]);
  }

  const rows: LeaderboardRow[] = [];
  for (const list of groups.values()) {
    const first = list[0];
    const label = `${first.summary.benchmark}-${first.summary.forget_split} ${first.meta.group ? `group "${first.meta.group}"` : `model "${first.meta.name}"`}`;
    // Stable: seed order, and the given run/model order among equal seeds.
    const ordered = list
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.meta.seed ?? -Infinity) - (b.e.meta.seed ?? -Infinity) || a.i - b.i)
      .map(({ e }) => e);
    const members = dedupeSeeds(ordered, label);

    for (const e of members) {
      if (e.meta.method !== first.meta.method || canonical(e.meta.hyperparameters) !== canonical(first.meta.hyperparameters)) {
        throw new UserError(
          `${label}: ${describeMember(e)} has a different method or hyperparameters than ${describeMember(first)}; ` +
            'models of one group must share their configuration (give differing ones distinct "group" values in meta.json)',
        );
      }
    }

    const values: Record<string, Stat> = {};
    for (const m of METRICS) values[m.key] = statOf(members.map((e) => m.extract(e.summary, e.meta)));

    const taskNames = [...new Set(members.flatMap((e) => Object.keys(e.summary.tasks)))];
    const tasks: LeaderboardRow['tasks'] = {};
    for (const t of taskNames) {
      const q = {} as Record<TaskQuantity, Stat>;
      for (const k of TASK_QUANTITIES) q[k] = statOf(members.map((e) => e.summary.tasks[t]?.[k] ?? null));
      tasks[t] = q;
    }

    rows.push({
      name: members.length > 1 && first.meta.group ? first.meta.group : first.meta.name,
      role: first.meta.role,
      method: first.meta.method,
      group: first.meta.group,
      modality: first.meta.modality,
      benchmark: first.summary.benchmark,
      forget_split: first.summary.forget_split,
      hyperparameters: first.meta.hyperparameters,
      members,
      values,
      tasks,
      best: [],
    });
  }
  return rows;
}
