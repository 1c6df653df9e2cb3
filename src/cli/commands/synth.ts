import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { positiveInt, seedInt } from '../options.ts';
import { UserError } from '../../util/errors.ts';
import { generateSynthetic, SYNTH_DEFAULTS } from '../../data/synth/generate.ts';

/** A directory we may (re)write: absent, empty, or an earlier synth output. */
function writable(dir: string): boolean {
  if (!existsSync(dir) || readdirSync(dir).length === 0) return true;
  const readme = join(dir, 'README.md');
  return existsSync(readme) && readFileSync(readme, 'utf8').includes('# Synthetic CLEAR (clearbench)');
}

/** `clearbench synth`: write the synthetic CLEAR-format dataset (and its TOFU text) in the hub layout. */
export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('generate a synthetic CLEAR-format dataset (hub layout, parquet) plus TOFU-style text in <out>/tofu')
    .requiredOption('--out <dir>', 'output directory')
    .option('--persons <n>', 'fictitious persons (CLEAR: 200)', positiveInt, SYNTH_DEFAULTS.persons)
    .option('--images-per-person <n>', 'images per person (CLEAR: ~19)', positiveInt, SYNTH_DEFAULTS.imagesPerPerson)
    .option('--seed <n>', 'random seed; same seed and sizes give byte-identical files', seedInt, SYNTH_DEFAULTS.seed)
    .option('--well-known <n>', 'well-known persons for real_faces / real_authors (at least 6)', positiveInt, SYNTH_DEFAULTS.wellKnown)
    .option('--pretrain-images <n>', 'pretraining images per well-known person and per world item (default: --images-per-person)', positiveInt)
    .addOption(new Option('--layout <layout>', "clearbench: with pretrain and holdout_perturbed; hub: exactly the hub repos' configs and columns").choices(['clearbench', 'hub']).default('clearbench'))
    .option('--force', 'write into a non-empty directory that is not an earlier synth output')
    .action(async (o: { out: string; persons: number; imagesPerPerson: number; seed: number; wellKnown: number; pretrainImages?: number; layout: 'clearbench' | 'hub'; force?: boolean }) => {
      if (!o.force && !writable(o.out)) {
        throw new UserError(`${o.out} is not empty and holds no earlier synth output; choose another --out or pass --force`);
      }
      const started = performance.now();
      const s = await generateSynthetic({ outDir: o.out, persons: o.persons, imagesPerPerson: o.imagesPerPerson, seed: o.seed, wellKnown: o.wellKnown, pretrainImages: o.pretrainImages, layout: o.layout });
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `wrote ${Object.keys(s.rows).length} CLEAR configs and ${Object.keys(s.tofuRows).length} TOFU configs to ${o.out} in ${secs} s: ` +
          `${s.persons} persons × ${s.imagesPerPerson} images (full ${s.rows.full} rows), forget01/05/10 = ` +
          `${s.splits.forget01.length}/${s.splits.forget05.length}/${s.splits.forget10.length} persons, ${s.splits.holdout.length} held out\n`,
      );
    });
}
