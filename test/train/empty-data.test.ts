/**
 * A recipe whose config has no rows is refused with one line naming the config and the fix, before any
 * training: without the check, `train --recipe target` on an empty `full` trained on the replay alone.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openDataDir } from '../../src/data/dataset.ts';
import { encodeParquet } from '../../src/data/parquet.ts';
import { columnsFor } from '../../src/data/schema.ts';
import { ParamStore } from '../../src/engine/params.ts';
import { saveCheckpoint } from '../../src/models/checkpoint.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { initVLM, preset } from '../../src/models/vlm.ts';
import { recipeExamples, tokenizerCorpus } from '../../src/train/recipes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let root: string;
let pristine: string;
let base: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clearbench-emptydata-'));
  pristine = join(root, 'pristine');
  await generateSynthetic({ outDir: pristine, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
  // An untrained tiny base model is enough: the target recipe must stop before training.
  const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus(await openDataDir(pristine)), { vocabSize: 300 }));
  const config = preset('tiny', tok.vocabSize);
  const store = new ParamStore();
  initVLM(store, config, 0);
  base = join(root, 'base');
  saveCheckpoint(join(base, 'checkpoint'), { store, tokenizer: tok, config, preset: 'tiny' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the dataset with one CLEAR config (parquet) or TOFU config (JSON) emptied. */
function withEmpty(name: string, family: 'clear' | 'tofu', config: string): string {
  const dir = join(root, name);
  cpSync(pristine, dir, { recursive: true });
  if (family === 'clear') writeFileSync(join(dir, config, 'train-00000-of-00001.parquet'), encodeParquet(columnsFor('clear', config), []));
  else writeFileSync(join(dir, 'tofu', `${config}.json`), '');
  return dir;
}

const FIX = 'regenerate the dataset (clearbench synth) or download the config again (clearbench download)';

describe('empty training data', () => {
  test("clearbench train --recipe target refuses a 'full' config with 0 rows, before training", () => {
    const data = withEmpty('empty-full', 'clear', 'full');
    const out = join(root, 'target');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clearbench.js'), 'train', '--recipe', 'target', '--data', data, '--from', base, '--out', out, '--epochs', '1', '--threads', '1'], { encoding: 'utf8', cwd: root });
    expect(r.stderr).toBe(`clearbench: config 'full' in ${data} has 0 rows, so the target recipe's training data would be empty; ${FIX}\n`);
    expect(r.status).toBe(1);
    expect(existsSync(join(out, 'train_log.jsonl'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  }, 60_000);

  test("gold's retain persons in the TOFU text configs", async () => {
    const data = withEmpty('empty-tofu-retain', 'tofu', 'retain90');
    await expect(recipeExamples('gold', await openDataDir(data), { split: 'forget10' })).rejects.toThrow(
      `config 'retain90' in ${join(data, 'tofu')} has 0 rows, so the gold recipe's training data would be empty; ${FIX}`,
    );
  });

  test('the pretraining config of every recipe', async () => {
    const data = await openDataDir(withEmpty('empty-pretrain', 'clear', 'pretrain'));
    await expect(recipeExamples('base', data)).rejects.toThrow(`config 'pretrain' in ${data.clear.dir} has 0 rows, so the base recipe's training data would be empty`);
  });

  test('the untouched dataset gives every recipe its examples', async () => {
    const data = await openDataDir(pristine);
    for (const recipe of ['base', 'target', 'gold'] as const) expect((await recipeExamples(recipe, data)).examples.length).toBeGreaterThan(0);
  });
});
