/**
 * leaderboard.json for tools: an array of rows (all tables), each with
 *   name, role, method, group, modality, benchmark, forget_split,
 *   seed (one model) or seeds (several seeds collapsed), n_seeds, hyperparameters,
 *   <metric> (mean) and <metric>_ci95 (95 % half-width, null for one seed) for every metric
 *   (real, retain, forget, forget_clear_code (the CLEAR code's Forget formula), forget_quality_js,
 *   model_utility, forget_quality_ks, privleak, relearn_recovery, wall_s, extraction and MIA values),
 *   tasks (per-task means),
 *   best (metric keys in which the row is best),
 *   run_dir (relative to where the file is written) and eval_dir (relative to run_dir):
 *   strings for one model, arrays parallel to `seeds` for collapsed rows,
 *   data (where the dataset came from: repos and commits, base_data) and privacy_reason (why privacy is
 *   null), from the row's first evaluation.
 */
import type { Leaderboard } from '../leaderboard.ts';
import type { LeaderboardRow } from '../group.ts';
import { relativePath, seedsOf } from '../format.ts';
import { METRICS, TASK_QUANTITIES } from '../metrics.ts';

export interface JsonOptions {
  relativeTo: string;
}

function rowToJson(row: LeaderboardRow, relativeTo: string): Record<string, unknown> {
  const single = row.members.length === 1;
  const runDirs = row.members.map((e) => relativePath(relativeTo, e.runDir));
  const evalDirs = row.members.map((e) => e.evalDir);
  const o: Record<string, unknown> = {
    name: row.name,
    role: row.role,
    method: row.method,
    group: row.group,
    modality: row.modality,
    benchmark: row.benchmark,
    forget_split: row.forget_split,
    ...(single ? { seed: row.members[0].meta.seed } : { seeds: seedsOf(row) }),
    n_seeds: row.members.length,
    hyperparameters: row.hyperparameters,
  };
  for (const m of METRICS) {
    o[m.key] = row.values[m.key].mean;
    o[`${m.key}_ci95`] = row.values[m.key].ci95;
  }
  const tasks: Record<string, Record<string, number | null>> = {};
  for (const [task, q] of Object.entries(row.tasks)) {
    tasks[task] = {};
    for (const k of TASK_QUANTITIES) {
      tasks[task][k] = q[k].mean;
      tasks[task][`${k}_ci95`] = q[k].ci95;
    }
  }
  o.tasks = tasks;
  o.best = row.best;
  o.data = row.members[0].summary.data;
  o.privacy_reason = row.members[0].summary.privacy_reason;
  o.run_dir = single ? runDirs[0] : runDirs;
  o.eval_dir = single ? evalDirs[0] : evalDirs;
  return o;
}

export function renderJson(lb: Leaderboard, options: JsonOptions): string {
  const rows = lb.sections.flatMap((s) => s.rows.map((r) => rowToJson(r, options.relativeTo)));
  return JSON.stringify(rows, null, 2) + '\n';
}
