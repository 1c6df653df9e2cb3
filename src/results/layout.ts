/**
 * The run directory's layout: every path that the pipeline, the trainer, the unlearner, the evaluator
 * and the report write or read in a run directory or a model directory, named once (what the files
 * hold: contract.ts).
 *
 *   <run>/
 *     .clearbench-run.json            run marker: this directory is clearbench's to clear and move in
 *     .clearbench-run.lock            held while a run works in it
 *     resolved-config.yaml            the config as run, every default filled in
 *     expected-results.json           the evaluation directories the plan writes
 *     data/                           the dataset (CLEAR layout, TOFU text in data/tofu)
 *       .provenance.json                where it came from (repos and commits, the base's data)
 *     models/<model>/                 a model directory:
 *       checkpoint/                     the model (src/models/checkpoint.ts)
 *       train_log.jsonl                 one line per optimiser step
 *       meta.json                       role, method, hyperparameters, seed, …
 *       eval/<benchmark>-<split>/       an evaluation directory:
 *         <task>.samples.json             per-sample records of one task
 *         mia.samples.json                per-sample membership scores
 *         summary.json                    the evaluation's numbers, written last
 *     leaderboard.{md,csv,json,tex}, report.html
 *     slurm.json                      a Slurm run's manifest: each stage's key, files and job id, the report job
 *     slurm-report.{sh,log}, slurm-report-exit.json   the Slurm run's final job (it writes the reports)
 */
import { join } from 'node:path';

// ---- the run directory ----

/** Written into every run directory clearbench creates (or adopts): the licence to clear and move its outputs. */
export const RUN_MARKER = '.clearbench-run.json';
/** Present while a run works in the directory. */
export const RUN_LOCK = '.clearbench-run.lock';
/** The resolved config every run saves (older versions wrote no marker; this file identifies their directories). */
export const RESOLVED_CONFIG = 'resolved-config.yaml';
/** The evaluations a run's plan writes, recorded when the run starts. */
export const EXPECTED_RESULTS_FILE = 'expected-results.json';
export const DATA_DIR = 'data';
export const MODELS_DIR = 'models';
/** In the data directory: where the dataset came from (a dot-file, so no loader takes it for a config). */
export const DATA_PROVENANCE_FILE = '.provenance.json';

/** `<dataDir>/.provenance.json`. */
export function dataProvenancePath(dataDir: string): string {
  return join(dataDir, DATA_PROVENANCE_FILE);
}

/** The report files a run writes at its end, by format. */
export const REPORT_FILES = {
  markdown: 'leaderboard.md',
  csv: 'leaderboard.csv',
  json: 'leaderboard.json',
  latex: 'leaderboard.tex',
  html: 'report.html',
} as const;

/** A Slurm run's manifest (src/pipeline/slurm/manifest.ts): what status, cancel and a rerun read. */
export const SLURM_MANIFEST = 'slurm.json';
/** The Slurm run's final job, which writes the reports: its batch script, log and exit status. */
export const SLURM_REPORT_FILES = { script: 'slurm-report.sh', log: 'slurm-report.log', exit: 'slurm-report-exit.json' } as const;

/** `models/<name>`: a model directory relative to its run directory. */
export function modelRelDir(name: string): string {
  return join(MODELS_DIR, name);
}

/** `<run>/models/<name>`. */
export function modelDir(run: string, name: string): string {
  return join(run, modelRelDir(name));
}

// ---- a model directory ----

/** A model directory's checkpoint subdirectory. */
export const CHECKPOINT_DIR = 'checkpoint';
export const TRAIN_LOG_FILE = 'train_log.jsonl';
export const META_FILE = 'meta.json';
/** The folder of a model directory that holds its evaluation directories. */
export const EVALS_DIR = 'eval';

/** `<modelDir>/checkpoint`. */
export function modelCheckpointDir(modelDir: string): string {
  return join(modelDir, CHECKPOINT_DIR);
}

export function trainLogPath(modelDir: string): string {
  return join(modelDir, TRAIN_LOG_FILE);
}

export function metaPath(modelDir: string): string {
  return join(modelDir, META_FILE);
}

/** `<modelDir>/eval`: one subdirectory per evaluation. */
export function evalsDir(modelDir: string): string {
  return join(modelDir, EVALS_DIR);
}

/** `<modelDir>/eval/<benchmark>-<split>`: one evaluation of the model (relative when modelDir is). */
export function evalDir(modelDir: string, benchmark: string, split: string): string {
  return join(evalsDir(modelDir), `${benchmark}-${split}`);
}

// ---- an evaluation directory ----

export const SUMMARY_FILE = 'summary.json';
export const MIA_SAMPLES_FILE = 'mia.samples.json';

export function summaryPath(evalDir: string): string {
  return join(evalDir, SUMMARY_FILE);
}

/** `<evalDir>/<task>.samples.json`. */
export function taskSamplesPath(evalDir: string, task: string): string {
  return join(evalDir, `${task}.samples.json`);
}

export function miaSamplesPath(evalDir: string): string {
  return join(evalDir, MIA_SAMPLES_FILE);
}
