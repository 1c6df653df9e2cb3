import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { UserError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { buildLeaderboard } from '../../report/leaderboard.ts';
import { FORMATS, chooseFormat, renderLeaderboard, type Format } from '../../report/render/index.ts';
import { DEFAULT_SORT, SORT_KEYS } from '../../report/sort.ts';
import { incompleteNote } from '../../report/format.ts';
import { writeReports } from '../../report/write-reports.ts';

interface ReportOptions {
  intoRun?: boolean;
  format?: Format;
  out?: string;
  sort: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Leaderboard tables and an HTML report from the result files of one or more run directories (no model is loaded)')
    .argument('<run_dir...>', 'run directories holding models/<model>/eval/<benchmark>-<split>/summary.json')
    .addOption(new Option('--format <format>', 'output format (default: from the --out extension, which must then be one of .md .csv .json .tex .html; md on stdout)').choices(FORMATS as unknown as string[]))
    .option('--out <file>', 'write to this file (atomically) instead of printing')
    .option('--sort <metric>', `order of the unlearned models: ${SORT_KEYS.join(', ')}`, DEFAULT_SORT)
    .option('--into-run', "write leaderboard.{md,csv,json,tex} and report.html into the (one) run directory, as clearbench run does at its end (a Slurm run's final job)")
    .addHelpText(
      'after',
      '\nRows: base, target, gold and every unlearned model; seeds of one configuration (meta.json "group")\n' +
        'collapse into mean ± 95 % Student-t interval. The best unlearned value per column is marked.\n\n' +
        'Examples:\n' +
        '  clearbench report runs/demo\n' +
        '  clearbench report runs/a runs/b --out leaderboard.tex\n' +
        '  clearbench report runs/demo --format html --out report.html',
    )
    .action(async (runDirs: string[], opts: ReportOptions) => {
      if (!SORT_KEYS.includes(opts.sort)) throw new UserError(`unknown --sort "${opts.sort}"; use one of: ${SORT_KEYS.join(', ')}`);
      if (opts.intoRun) {
        if (runDirs.length !== 1 || opts.out || opts.format) throw new UserError('--into-run writes every format into one run directory; give one run directory and no --out or --format');
        const paths = await writeReports(runDirs[0], { sortKey: opts.sort });
        process.stdout.write(`${paths.markdown}\n`);
        return;
      }
      const format = chooseFormat(opts.out, opts.format);
      const lb = buildLeaderboard(runDirs, { sortKey: opts.sort });
      for (const u of lb.unevaluated) process.stderr.write(`note: ${u.runDir}/${u.modelDir} has no evaluation yet; left out\n`);
      for (const i of lb.incomplete) process.stderr.write(`note: ${i.runDir} is incomplete: ${incompleteNote(i)}\n`);
      const relativeTo = opts.out ? dirname(resolve(opts.out)) : process.cwd();
      const text = await renderLeaderboard(lb, format, relativeTo);
      if (opts.out) {
        writeFileAtomic(resolve(opts.out), text);
        process.stdout.write(`${resolve(opts.out)}\n`);
      } else {
        process.stdout.write(text);
      }
    });
}
