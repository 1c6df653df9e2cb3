import { type Command } from 'commander';
import { choice, positiveInt } from '../options.ts';
import { EXECUTORS, type ExecutorName } from '../../pipeline/config/schema.ts';
import { SHARED_FS } from '../../pipeline/slurm/sbatch.ts';
import { UserError } from '../../util/errors.ts';
import { failureMessage, runPipeline } from '../../pipeline/run-pipeline.ts';

/** How often an attached Slurm run polls the queue: CLEARBENCH_SLURM_POLL_MS (tests poll fast), else 5 s. */
const pollMs = () => Number(process.env.CLEARBENCH_SLURM_POLL_MS) || undefined;

const collect = (value: string, previous: string[]) => [...previous, value];

/** `clearbench run CONFIG`: the whole benchmark from a YAML config (its jobs run in pipeline workers, src/pipeline/worker.ts). */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a benchmark from a YAML config: data → base → target → gold → unlearning → evaluation → leaderboard (cached, resumable)')
    .argument('<config>', 'experiment config (YAML), e.g. configs/default.yaml')
    .option('--out <dir>', 'run directory (default runs/<config name>)')
    .option('--jobs <n>', "jobs run at once, each in its own process (default: the config's jobs)", positiveInt)
    .option('--set <key=value>', 'override a config key, value parsed as YAML (repeatable), e.g. --set unlearning.lr=1e-4', collect, [])
    .option('--dry-run', 'print the plan (stages in order, cached or to run) and stop')
    .option('--executor <name>', `where the stages run: ${EXECUTORS.join(' or ')} (one sbatch job per stage; default: the config's executor)`, choice(EXECUTORS, '--executor'))
    .option('--detach', 'slurm: exit once every job is submitted (then clearbench status RUN; the leaderboard is written by a final job)')
    .action(async (config: string, o: { out?: string; jobs?: number; set: string[]; dryRun?: boolean; executor?: ExecutorName; detach?: boolean }) => {
      const r = await runPipeline({ config, sets: o.set, out: o.out, jobs: o.jobs, dryRun: o.dryRun, handleSignals: true, executorName: o.executor, detach: o.detach, pollMs: pollMs() });
      if (r.interrupted && r.slurm) throw new UserError(`stopped watching; the Slurm jobs keep running: clearbench status ${r.runDir} to follow, clearbench cancel ${r.runDir} to stop them`, 130);
      if (r.interrupted) throw new UserError(`stopped; run the same command again to resume (finished stages in ${r.runDir} are reused)`, 130);
      // A Slurm node that cannot see the run directory fails every stage the same way: that one line says it all.
      const unseen = r.slurm ? r.outcome?.failed.find((f) => f.message.includes(SHARED_FS)) : undefined;
      if (unseen) throw new UserError(`${unseen.id}: ${unseen.message}`);
      const failed = r.outcome ? failureMessage(r.outcome) : null;
      if (failed) throw new UserError(failed);
    });
}
