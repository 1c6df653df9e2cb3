import { resolve } from 'node:path';
import { type Command } from 'commander';
import { UserError } from '../../util/errors.ts';
import { manifestPath, readManifest } from '../../pipeline/slurm/manifest.ts';
import { formatStatus, runStatus } from '../../pipeline/slurm/status.ts';

/** `clearbench status RUN`: each stage of a Slurm run (done, queued, running, failed, …), its job id and log. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('the state of each stage of a run submitted with --executor slurm (done, queued, running, failed, cancelled, skipped), with its Slurm job id and log')
    .argument('<run_dir>', 'the run directory (holding slurm.json)')
    .option('--json', 'print the states as JSON')
    .action(async (runDir: string, o: { json?: boolean }) => {
      const m = readManifest(resolve(runDir));
      if (!m) throw new UserError(`${manifestPath(resolve(runDir))} does not exist: ${runDir} was not run with --executor slurm (a local run's state is its done.json files)`);
      const st = await runStatus(m);
      process.stdout.write(o.json ? `${JSON.stringify({ stages: st.stages, report: st.report }, null, 2)}\n` : formatStatus(st));
    });
}
