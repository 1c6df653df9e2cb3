/**
 * Collects evaluation results and training logs from run directories, reading only
 * result files (meta.json, eval/<benchmark>-<split>/summary.json, train_log.jsonl).
 * Directory listings are sorted so the same files always give the same rows.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { EVALS_DIR, EXPECTED_RESULTS_FILE, MODELS_DIR, evalsDir, metaPath, summaryPath, trainLogPath } from '../results/layout.ts';
import {
  readEvalSummary,
  readExpectedResults,
  readModelMeta,
  readTrainLog,
  type EvalSummary,
  type ModelMeta,
  type TrainLogEntry,
} from '../results/contract.ts';

/** One evaluation of one model: a summary.json and the meta.json of its model. */
export interface EvalRecord {
  /** Absolute path of the run directory. */
  runDir: string;
  meta: ModelMeta;
  /** Evaluation directory relative to the run directory, with forward slashes. */
  evalDir: string;
  summary: EvalSummary;
}

export interface TrainCurve {
  runDir: string;
  meta: ModelMeta;
  entries: TrainLogEntry[];
}

export interface CollectedResults {
  /** Absolute run directories, in the order given (duplicates removed). */
  runDirs: string[];
  evals: EvalRecord[];
  curves: TrainCurve[];
  /** Model directories left out because they hold no evaluation yet (run-relative). */
  unevaluated: { runDir: string; modelDir: string }[];
  /** Runs whose plan (expected-results.json) names evaluations that have no summary yet. */
  incomplete: IncompleteRun[];
}

export interface IncompleteRun {
  runDir: string;
  /** How many evaluations the run's plan writes. */
  expected: number;
  /** The planned evaluation directories (run-relative) that hold no summary.json. */
  missing: string[];
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function sortedSubdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function collectRuns(runDirArgs: readonly string[]): CollectedResults {
  if (runDirArgs.length === 0) throw new UserError('no run directory given; pass at least one RUN_DIR');
  const runDirs = [...new Set(runDirArgs.map((d) => resolve(d)))];
  const out: CollectedResults = { runDirs, evals: [], curves: [], unevaluated: [], incomplete: [] };

  for (const runDir of runDirs) {
    if (!isDir(runDir)) throw new UserError(`${runDir}: run directory not found; check the path`);
    const modelsDir = join(runDir, MODELS_DIR);
    const before = out.evals.length;
    for (const modelDir of isDir(modelsDir) ? sortedSubdirs(modelsDir) : []) {
      const dir = join(modelsDir, modelDir);
      const evalRoot = evalsDir(dir);
      const evalDirs = isDir(evalRoot)
        ? sortedSubdirs(evalRoot).filter((e) => existsSync(summaryPath(join(evalRoot, e))))
        : [];
      const logFile = trainLogPath(dir);
      if (evalDirs.length === 0) {
        out.unevaluated.push({ runDir, modelDir: `${MODELS_DIR}/${modelDir}` });
        continue;
      }
      const metaFile = metaPath(dir);
      if (!existsSync(metaFile)) {
        throw new UserError(`${metaFile}: missing, but the model has evaluations; re-run the pipeline stage that trains this model`);
      }
      const meta = readModelMeta(metaFile);
      for (const e of evalDirs) {
        out.evals.push({
          runDir,
          meta,
          evalDir: [MODELS_DIR, modelDir, EVALS_DIR, e].join('/'),
          summary: readEvalSummary(summaryPath(join(evalRoot, e))),
        });
      }
      if (existsSync(logFile)) out.curves.push({ runDir, meta, entries: readTrainLog(logFile) });
    }
    const found = new Set(out.evals.slice(before).map((e) => e.evalDir));
    const expectedFile = join(runDir, EXPECTED_RESULTS_FILE);
    if (existsSync(expectedFile)) {
      const planned = readExpectedResults(expectedFile).evaluations;
      const missing = planned.filter((e) => !found.has(e));
      if (missing.length) out.incomplete.push({ runDir, expected: planned.length, missing });
    }
    if (out.evals.length === before) {
      throw new UserError(
        `${runDir}: no results found (expected models/<model>/eval/<benchmark>-<split>/summary.json); ` +
          'run the pipeline to the end first, or check the run directory',
      );
    }
  }
  return out;
}
