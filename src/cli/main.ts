import { Command, CommanderError } from 'commander';
import { errorLine, exitCodeOf } from '../util/errors.ts';
import { selectedDevice } from '../engine/session.ts';
import { registerBench } from './commands/bench.ts';
import { registerTrain } from './commands/train.ts';
import { registerTokenizer } from './commands/tokenizer.ts';
import { registerReport } from './commands/report.ts';
import { registerDownload } from './commands/download.ts';
import { registerSynth } from './commands/synth.ts';
import { registerServeHub } from './commands/serve-hub.ts';
import { registerEval } from './commands/eval.ts';
import { registerExport } from './commands/export.ts';
import { registerMethods } from './commands/methods.ts';
import { registerRun } from './commands/run.ts';
import { registerStatus } from './commands/status.ts';
import { registerCancel } from './commands/cancel.ts';

const program = new Command('clearbench')
  .description('CLEAR machine-unlearning benchmark harness (ONNX models, our own autodiff, onnxruntime-node)')
  .option('--debug', 'print stack traces for errors')
  .option('--device <device>', 'where onnxruntime runs the graphs: cpu (default) or cuda (needs onnxruntime-node\'s CUDA binaries; see the README); sets CLEARBENCH_DEVICE for every stage')
  .hook('preAction', () => {
    const device = program.opts().device as string | undefined;
    if (device === undefined) return;
    process.env.CLEARBENCH_DEVICE = device;
    selectedDevice(); // a wrong name fails now, in one line, not in the first stage
  })
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

// Each subcommand lives in src/cli/commands/<name>.ts and exports register(program).
registerBench(program);
registerTrain(program);
registerTokenizer(program);
registerReport(program);
registerDownload(program);
registerSynth(program);
registerServeHub(program);
registerEval(program);
registerExport(program);
registerMethods(program);
registerRun(program);
registerStatus(program);
registerCancel(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const debug = program.opts().debug || process.argv.includes('--debug');
  process.stderr.write(`${errorLine(err, debug)}\n`);
  process.exit(exitCodeOf(err));
}
