import { type Command } from 'commander';
import { runRecipe, RECIPE_DEFAULTS } from '../../train/recipe-job.ts';
import { DEFAULT_FORGET_SPLIT, FORGET_SPLITS, type ForgetSplit, RECIPES, type RecipeName } from '../../protocol/vocabulary.ts';
import { PRESET_NAMES, type PresetName } from '../../models/vlm.ts';
import { choice, fraction, positiveInt, positiveNumber, seedInt } from '../options.ts';
import { progressBar } from '../progress.ts';

/** `clearbench train`: one recipe of the protocol (base, target, gold) into a model directory. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model: base (from scratch on pretrain), target (base + every person) or gold (base + retain persons)')
    .requiredOption('--recipe <name>', RECIPES.join(' | '), choice(RECIPES, '--recipe'))
    .requiredOption('--data <dir>', 'CLEAR-layout dataset directory (clearbench synth / download); TOFU text in <dir>/tofu')
    .requiredOption('--out <dir>', 'model directory (checkpoint/, train_log.jsonl)')
    .option('--from <dir>', 'base model directory or checkpoint (target, gold)')
    .option('--preset <name>', 'model size for base: tiny | small', choice(PRESET_NAMES, '--preset'))
    .option('--vocab-size <n>', 'tokenizer vocabulary for base', positiveInt)
    .option('--forget-split <split>', 'gold: which persons to leave out', choice(FORGET_SPLITS, '--forget-split'), DEFAULT_FORGET_SPLIT)
    .option('--epochs <n>', `epochs (defaults: base ${RECIPE_DEFAULTS.base.epochs}, target/gold ${RECIPE_DEFAULTS.target.epochs})`, positiveInt)
    .option('--lr <x>', `peak learning rate, AdamW with warm-up then cosine decay (defaults: base ${RECIPE_DEFAULTS.base.lr}, target/gold ${RECIPE_DEFAULTS.target.lr})`, positiveNumber)
    .option('--batch-size <n>', 'batch size', positiveInt, 16)
    .option('--replay <fraction>', `target/gold: fraction of the pretraining examples replayed each epoch (default ${RECIPE_DEFAULTS.target.replay})`, fraction)
    .option('--seed <n>', 'random seed', seedInt, 0)
    .option('--threads <n>', 'onnxruntime threads', positiveInt)
    .action(async (o: {
      recipe: RecipeName; data: string; out: string; from?: string; preset?: PresetName; vocabSize?: number; forgetSplit: ForgetSplit;
      epochs?: number; lr?: number; batchSize: number; replay?: number; seed: number; threads?: number;
    }) => {
      const bar = progressBar(`train ${o.recipe}`);
      const s = await runRecipe({
        recipe: o.recipe, dataDir: o.data, outDir: o.out, from: o.from, preset: o.preset, vocabSize: o.vocabSize, split: o.forgetSplit,
        epochs: o.epochs, lr: o.lr, batchSize: o.batchSize, replay: o.replay, seed: o.seed, threads: o.threads,
        onStep: (st) => bar.update(st.step, st.total_steps, `loss ${st.loss.toFixed(3)}`),
      });
      bar.stop();
      process.stdout.write(`${o.recipe}: ${s.steps} steps in ${s.wallS.toFixed(1)} s (${Math.round(s.tokens / s.wallS)} tokens/s), last-epoch loss ${s.lastEpochLoss.toFixed(4)} → ${o.out}\n`);
    });
}
