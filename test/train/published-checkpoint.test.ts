/**
 * A published target or gold (model.target / model.gold) is taken as it is only when it is a fine-tune of
 * the run's base: same parameter names and shapes, same vocabulary. Otherwise its numbers would sit beside a
 * base they never came from, so the stage fails with one line naming the key, the difference and the fix.
 * The config needs model.hf for either.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { runRecipe } from '../../src/train/recipe-job.ts';
import { loadConfig } from '../../src/pipeline/config/load.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hf');
let root: string;
let data: string;
let base: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clearbench-published-'));
  data = join(root, 'data');
  await generateSynthetic({ outDir: data, persons: 4, imagesPerPerson: 1, wellKnown: 6, seed: 3 });
  base = join(root, 'base');
  await runRecipe({ recipe: 'base', dataDir: data, outDir: base, hf: join(FIXTURES, 'llama-mha-untied-f32') });
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a published fine-tune', () => {
  test('of another architecture is refused, naming the key and the first difference', async () => {
    await expect(runRecipe({ recipe: 'gold', split: 'forget10', dataDir: data, outDir: join(root, 'gold'), from: base, hf: join(FIXTURES, 'qwen2-gqa-untied-f32') }))
      .rejects.toThrow(/^model\.gold\.forget10\.hf .*qwen2-gqa-untied-f32 is not a fine-tune of the run's base model\.hf \(.+\); point it at a fine-tune of that base$/);
  });

  test('of the base itself is adopted', async () => {
    const r = await runRecipe({ recipe: 'target', dataDir: data, outDir: join(root, 'target'), from: base, hf: join(FIXTURES, 'llama-mha-untied-f32') });
    expect(r.steps).toBe(0);
  });

  test('in a config without model.hf is refused with one line', () => {
    const file = join(root, 'no-base.yaml');
    writeFileSync(file, 'name: x\nmodel:\n  target: { hf: open-unlearning/tofu_Llama-3.2-1B-Instruct_full }\n');
    expect(() => loadConfig(file)).toThrow(`${file}: model.target: a published fine-tune needs the model it was fine-tuned from: set model.hf to that base`);
  });
});
