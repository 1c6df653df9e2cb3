/**
 * Runs one job spec (inside a worker): the data job, a training recipe, an unlearning run or an
 * evaluation, writing the stage's output (the dataset; a model directory's checkpoint/, train_log.jsonl
 * and meta.json; the evaluation files). The pipeline marks the stage done only after the job succeeded.
 */
import { MethodRegistry } from '../../methods/registry.ts';
import { runUnlearning } from '../../methods/unlearning-job.ts';
import { runRecipe } from '../../train/recipe-job.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { metaPath } from '../../results/layout.ts';
import { runDataJob } from './data-job.ts';
import { runEvalJob } from './eval-job.ts';
import { type JobOf, type JobReporter, type JobSpec, type MetaDraft, jobPlace } from './spec.ts';

/** meta.json: the model's description, its wall time and where it ran (executor, Slurm job id; the report reads neither). */
function writeMeta(modelDir: string, meta: MetaDraft, wallS: number): void {
  writeFileAtomic(metaPath(modelDir), `${JSON.stringify({ ...meta, wall_s: Math.round(wallS * 10) / 10, ...jobPlace() }, null, 2)}\n`);
}

async function train({ kind: _, meta, ...params }: JobOf<'train'>, report: JobReporter): Promise<void> {
  const s = await runRecipe({ ...params, onStep: (st) => report.progress(st.step, st.total_steps, `loss ${st.loss.toFixed(3)}`) });
  writeMeta(params.outDir, meta, s.wallS);
}

async function unlearn({ kind: _, meta, method, plugins, ...params }: JobOf<'unlearn'>, report: JobReporter): Promise<void> {
  const registry = await MethodRegistry.discover(plugins);
  const s = await runUnlearning({
    ...params, method: registry.get(method),
    onStep: (st) => report.progress(st.step, st.total_steps, `${st.phase} loss ${st.loss.toFixed(3)}`),
  });
  writeMeta(params.outDir, meta, s.wallS);
}

export async function runJob(spec: JobSpec, report: JobReporter): Promise<void> {
  switch (spec.kind) {
    case 'data':
      return runDataJob(spec, (m) => report.note(m));
    case 'train':
      return train(spec, report);
    case 'unlearn':
      return unlearn(spec, report);
    case 'eval':
      return runEvalJob(spec, (value, total, info) => report.progress(value, total, info));
  }
}
