import { type Command } from 'commander';
import { modelKindOf } from '../../models/model-kinds.ts';
import { exportModel } from '../../models/export.ts';
import { UserError } from '../../util/errors.ts';
import { positiveInt } from '../options.ts';

interface ExportCliOptions {
  model: string;
  out: string;
  batch: number;
  seq?: number;
  image: boolean;
}

/** `clearbench export`: a checkpoint → a standalone ONNX inference model (weights as initializers). */
export function registerExport(program: Command): Command {
  return program
    .command('export')
    .description('write a standalone ONNX inference model (weights as initializers, fixed batch and sequence shape) from a checkpoint')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--out <file>', 'ONNX file to write (replaced atomically)')
    .option('--batch <n>', 'batch size of the exported graph', positiveInt, 1)
    .option('--seq <n>', "sequence length of the exported graph, image slots included (default: the model's maxSeq)", positiveInt)
    .option('--no-image', 'export a text-only model (no image inputs)')
    .action(async (o: ExportCliOptions) => {
      const model = modelKindOf(o.model).load(o.model);
      // A text-only model (a Hugging Face causal LM) has no image inputs to export.
      const shape = { batch: o.batch, seq: o.seq ?? model.dims.maxSeq, image: o.image && !model.textOnly };
      let info;
      try {
        info = exportModel(model, o.out, shape);
      } catch (err) {
        if (err instanceof UserError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (!code) throw err;
        throw new UserError(`cannot write ${o.out} (${code}); choose a writable --out path`);
      }
      const dims = (s: number[]) => `[${s.join(', ')}]`;
      process.stdout.write(
        `wrote ${o.out} (${(info.bytes.length / 2 ** 20).toFixed(1)} MiB, ${info.params.toLocaleString('en')} parameters as initializers)\n` +
          `inputs:  ${info.inputs.map((i) => `${i.name} ${i.dtype}${dims(i.shape)}`).join(', ')}\n` +
          `outputs: ${info.outputs.map((i) => `${i.name} ${i.dtype}${dims(i.shape)}`).join(', ')}\n`,
      );
    });
}
