import { resolve } from 'node:path';
import { type Command } from 'commander';
import { UserError } from '../../util/errors.ts';
import { cancelRun } from '../../pipeline/slurm/cancel.ts';
import { manifestPath, readManifest } from '../../pipeline/slurm/manifest.ts';

/** `clearbench cancel RUN`: scancel what a Slurm run still has queued or running. */
export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel the Slurm jobs of a run that are still queued or running (finished stages stay; run again to resume)')
    .argument('<run_dir>', 'the run directory (holding slurm.json)')
    .action(async (runDir: string) => {
      const m = readManifest(resolve(runDir));
      if (!m) throw new UserError(`${manifestPath(resolve(runDir))} does not exist: ${runDir} was not run with --executor slurm (stop a local run with Ctrl-C)`);
      const ids = await cancelRun(m);
      process.stdout.write(ids.length ? `cancelled ${ids.length} Slurm job(s): ${ids.join(' ')}\n` : 'nothing of this run is queued or running\n');
    });
}
