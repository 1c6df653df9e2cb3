/**
 * The run directory's layout: every path the pipeline, the trainer, the evaluator and the report
 * read or write inside a run directory or a model directory, named once.
 *
 *   <model dir>/checkpoint/            the model (see src/models/checkpoint.ts)
 */
import { join } from 'node:path';

/** A model directory's checkpoint subdirectory. */
export const CHECKPOINT_DIR = 'checkpoint';

/** `<modelDir>/checkpoint`. */
export function modelCheckpointDir(modelDir: string): string {
  return join(modelDir, CHECKPOINT_DIR);
}
