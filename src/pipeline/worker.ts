/**
 * A pipeline worker (`bin/clearbench-worker.js SPEC`): runs the one job whose JSON spec it is given, its
 * stdout and stderr going to the job's log, and reports progress and notes to the pipeline over IPC. A
 * failed job ends the worker with a non-zero exit code and the error's one line last in the log, written as
 * the CLI writes errors (`clearbench: …`): that line is what the executor reports.
 */
import { readFileSync } from 'node:fs';
import { UserError, errorLine, exitCodeOf } from '../util/errors.ts';
import { runJob } from './jobs/run-job.ts';
import { type JobReporter, type JobSpec, type WorkerMessage, jobPlace } from './jobs/spec.ts';
import { type DoneMarkerSpec } from './executor.ts';
import { writeDoneMarker } from './markers.ts';

/** Progress goes out at most this often (and always at its last step): the console redraws no faster. */
const PROGRESS_INTERVAL_MS = 200;

function reporter(): JobReporter {
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send!(m);
  };
  let last = 0;
  return {
    progress(value, total, info) {
      const now = performance.now();
      if (now - last < PROGRESS_INTERVAL_MS && value < total) return;
      last = now;
      send({ type: 'progress', value, total, info });
    },
    note(message) {
      process.stdout.write(`${message}\n`);
      send({ type: 'note', message });
    },
  };
}

/** Runs the job in `specFile`; on failure writes its one line to stderr and exits non-zero. */
export async function workerMain(specFile: string | undefined): Promise<void> {
  // A worker whose pipeline died stops too, rather than writing into a directory a restarted run reuses.
  const orphaned = () => process.exit(1);
  if (process.connected) process.once('disconnect', orphaned);
  try {
    if (!specFile) throw new UserError('clearbench-worker runs one job of a pipeline run and needs its job spec file; run clearbench run CONFIG instead');
    const spec = JSON.parse(readFileSync(specFile, 'utf8')) as JobSpec;
    const t0 = performance.now();
    await runJob(spec, reporter());
    // A queued job (Slurm) marks its own stage done: the process that submitted it may be gone.
    const marker = process.env.CLEARBENCH_DONE_MARKER;
    if (marker) {
      const m = JSON.parse(marker) as DoneMarkerSpec;
      writeDoneMarker(m.file, m.stage, m.key, (performance.now() - t0) / 1000, jobPlace());
    }
  } catch (err) {
    process.stderr.write(`${errorLine(err)}\n`);
    process.exit(exitCodeOf(err));
  } finally {
    process.off('disconnect', orphaned);
    if (process.connected) process.disconnect(); // the IPC channel would keep the worker alive
  }
}
