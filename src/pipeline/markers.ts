/**
 * Stage completion markers and the run directory's housekeeping. A stage is done when its output directory
 * holds a marker with the stage's current key and its main output; the marker is written last, atomically,
 * so a stage interrupted anywhere before it simply runs again.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { CONFIG_FILE } from '../models/checkpoint.ts';
import { MODELS_DIR, evalsDir, modelCheckpointDir, summaryPath } from '../results/layout.ts';
import { type Plan, type Stage } from './plan.ts';
import { type ExecutorName } from './config/schema.ts';

export const UNUSED_DIR = 'unused';

/** A file the harness keeps in a stage's directory; in the dataset directory, whose layout scanner skips dot-files, a dot-file. */
export function harnessFile(s: Pick<Stage, 'kind' | 'dir'>, name: string): string {
  return join(s.dir, s.kind === 'data' ? `.${name}` : name);
}

export function markerPath(s: Pick<Stage, 'kind' | 'dir'>): string {
  return harnessFile(s, 'done.json');
}

/** Where the stage's job spec is written for its worker. */
export function jobSpecPath(s: Pick<Stage, 'kind' | 'dir'>): string {
  return harnessFile(s, 'job.json');
}

/** The file whose presence says the stage's output is complete. */
export function mainOutput(s: Stage): string {
  switch (s.kind) {
    case 'data':
      return join(s.dir, 'README.md');
    case 'train':
    case 'unlearn':
      return join(modelCheckpointDir(s.dir), CONFIG_FILE);
    case 'eval':
      return summaryPath(s.dir);
  }
}

export function isDone(s: Stage): boolean {
  return markedDone(markerPath(s), mainOutput(s), s.key);
}

/** True when the marker file holds `key` and the output exists (isDone from paths, as a Slurm manifest keeps them). */
export function markedDone(marker: string, output: string, key: string): boolean {
  if (!existsSync(marker) || !existsSync(output)) return false;
  try {
    return (JSON.parse(readFileSync(marker, 'utf8')) as { key?: unknown }).key === key;
  } catch {
    return false; // an unreadable marker is no marker
  }
}

/** Where a stage ran (done.json and meta.json record it; results never depend on it). */
export interface JobPlace {
  executor: ExecutorName;
  slurm_job_id: string | null;
}

/** Writes a done marker: the stage, its key, its wall time and where it ran. */
export function writeDoneMarker(file: string, stage: string, key: string, wallS: number, place: JobPlace): void {
  writeFileAtomic(file, `${JSON.stringify({ stage, key, wall_s: Math.round(wallS * 10) / 10, ...place }, null, 2)}\n`);
}

/** The local scheduler marks a stage done once its worker succeeded (a Slurm job marks its own, worker.ts). */
export function markDone(s: Stage, wallS: number): void {
  writeDoneMarker(markerPath(s), s.id, s.key, wallS, { executor: 'local', slurm_job_id: null });
}

/** Written first into a stage's output directory: what lets a later run clear it (the dot keeps it out of dataset scans). */
const STARTED = '.started.json';
/** Files that only the harness writes into a stage directory (job.json: older versions' stages that never finished). */
const HARNESS_FILES = [STARTED, 'done.json', '.done.json', 'job.json'];

const isStageDir = (dir: string) => HARNESS_FILES.some((f) => existsSync(join(dir, f)));

/** True when `dir` is absent, empty, or a stage output the harness wrote (so clearing it loses nothing of anyone else's). */
export function isHarnessOutput(dir: string): boolean {
  if (!existsSync(dir)) return true;
  if (!statSync(dir).isDirectory()) return false;
  return readdirSync(dir).length === 0 || isStageDir(dir);
}

/** Refuses, before any work, a stage directory that holds files the harness did not write. */
export function checkStageDirs(stages: readonly Stage[]): void {
  const foreign = stages.find((s) => !isHarnessOutput(s.dir));
  if (foreign) {
    throw new UserError(`${foreign.dir} holds files clearbench did not write (no ${STARTED} or done.json), and ${foreign.label} would replace them; move them out of the run directory`);
  }
}

/** A stage about to run starts from an empty output directory (a retrained model's old evaluations go too). */
export function clearOutput(s: Stage): void {
  checkStageDirs([s]);
  rmSync(s.dir, { recursive: true, force: true });
  mkdirSync(s.dir, { recursive: true });
  writeFileAtomic(join(s.dir, STARTED), `${JSON.stringify({ stage: s.id, key: s.key }, null, 2)}\n`);
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const subdirs = (p: string) => (isDir(p) ? readdirSync(p).filter((n) => isDir(join(p, n))).sort() : []);

/** A name next to `path` that is not taken (`path~1`, `path~2`, …). */
function freeName(path: string): string {
  for (let i = 1; ; i++) if (!existsSync(`${path}~${i}`)) return `${path}~${i}`;
}

/**
 * Moves `from` to `to` without deleting anything: into a directory already there that only holds other
 * outputs (a model folder holding an evaluation parked earlier) the entries merge; a stage output in the
 * way (an older result of the same stage) is first renamed aside to `<name>~N`.
 */
function move(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  if (isDir(to) && isDir(from) && !isStageDir(to)) {
    for (const name of readdirSync(from)) move(join(from, name), join(to, name));
    rmdirSync(from);
    return;
  }
  if (existsSync(to)) renameSync(to, freeName(to));
  renameSync(from, to);
}

/**
 * Keeps the report to what this config describes without deleting anything: model and evaluation
 * directories the plan no longer has move to `<run>/unused/…`, and ones it has again move back (their
 * markers then decide whether they are reused). Returns the run-relative paths moved aside.
 */
export function tidyRunDir(plan: Plan): string[] {
  const run = plan.runDir;
  const unused = join(run, UNUSED_DIR);
  const wanted = new Set(plan.stages.map((s) => s.rel));
  // Bring back what the plan needs again, models before their evaluations.
  for (const s of plan.stages) {
    if (s.kind === 'data') continue;
    const parked = join(unused, s.rel);
    if (!existsSync(s.dir) && existsSync(parked)) move(parked, s.dir);
  }
  const moved: string[] = [];
  for (const m of subdirs(join(run, MODELS_DIR))) {
    const rel = join(MODELS_DIR, m);
    if (!wanted.has(rel)) {
      move(join(run, rel), join(unused, rel));
      moved.push(rel);
      continue;
    }
    for (const e of subdirs(evalsDir(join(run, rel)))) {
      const erel = join(evalsDir(rel), e);
      if (!wanted.has(erel)) {
        move(join(run, erel), join(unused, erel));
        moved.push(erel);
      }
    }
  }
  return moved;
}

