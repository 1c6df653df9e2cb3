import { type Command } from 'commander';
import { positiveInt } from '../options.ts';
import { UserError } from '../../util/errors.ts';
import { failureMessage, runPipeline } from '../../pipeline/run-pipeline.ts';

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
    .action(async (config: string, o: { out?: string; jobs?: number; set: string[]; dryRun?: boolean }) => {
      const r = await runPipeline({ config, sets: o.set, out: o.out, jobs: o.jobs, dryRun: o.dryRun, handleSignals: true });
      if (r.interrupted) throw new UserError(`stopped; run the same command again to resume (finished stages in ${r.runDir} are reused)`, 130);
      const failed = r.outcome ? failureMessage(r.outcome) : null;
      if (failed) throw new UserError(failed);
    });
}
