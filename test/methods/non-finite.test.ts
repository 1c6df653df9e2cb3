/**
 * Unlearning stops at a non-finite step (one line: step, epoch, the loss terms that are not finite, the
 * fix) and writes no checkpoint, so the pipeline never marks the stage done; an empty forget split is
 * refused before any training.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gd from '../../methods/gd.ts';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { openDataDir } from '../../src/data/dataset.ts';
import { encodeParquet } from '../../src/data/parquet.ts';
import { columnsFor } from '../../src/data/schema.ts';
import { ParamStore } from '../../src/engine/params.ts';
import { saveCheckpoint } from '../../src/models/checkpoint.ts';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { initVLM, preset } from '../../src/models/vlm.ts';
import { tokenizerCorpus } from '../../src/train/recipes.ts';
import { defineMethod, losses } from '../../src/methods/api.ts';
import { runUnlearning, type UnlearningJob } from '../../src/methods/unlearning-job.ts';
import { unlearningData } from '../../src/methods/data.ts';
import { UserError } from '../../src/util/errors.ts';

let root: string;
let data: string;
let from: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clearbench-unlearn-nan-'));
  data = join(root, 'data');
  await generateSynthetic({ outDir: data, persons: 4, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
  const tok = Tokenizer.fromJSON(trainBpe(await tokenizerCorpus(await openDataDir(data)), { vocabSize: 300 }));
  const config = preset('tiny', tok.vocabSize);
  const store = new ParamStore();
  initVLM(store, config, 0);
  from = join(root, 'target');
  saveCheckpoint(join(from, 'checkpoint'), { store, tokenizer: tok, config, preset: 'tiny' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A method with a finite CE term and a log of a negative number: NaN from the first step. */
const logOfNegative = defineMethod({
  name: 'log_of_negative',
  description: 'test: CE_f + log(−CE_f)',
  hyperparameters: {},
  streams: ['forget'],
  loss: ({ s }) => {
    const ce = losses.tokenCE(s.forget!.logits, s.forget!.labels);
    const bad = ce.neg().log();
    return { loss: ce.add(bad), metrics: { ce_forget: ce, log_neg_ce: bad } };
  },
});

function job(name: string, over: Partial<UnlearningJob>): UnlearningJob {
  return {
    method: gd, from, dataDir: data, split: 'forget10', modality: 'joint', outDir: join(root, name),
    epochs: 2, batchSize: 4, optimizer: { type: 'adamw', lr: 1e-4 }, seed: 0, threads: 1, ...over,
  };
}

async function failure(j: UnlearningJob): Promise<Error> {
  try {
    await runUnlearning(j);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected unlearning to stop');
}

const FIX = "lower the learning rate (unlearning.lr, or lr in the method's entry of the run config); if that does not help, check the method's loss for a log or division that can reach 0";

describe('non-finite unlearning', () => {
  test('a NaN term stops the first step, names only the non-finite terms, and writes no checkpoint', async () => {
    const j = job('log-of-negative', { method: logOfNegative });
    const e = await failure(j);
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(new RegExp(`^unlearning with 'log_of_negative' stopped at step 1 of \\d+ \\(epoch 1 of 2\\): non-finite loss NaN, log_neg_ce NaN; no checkpoint was written; ${FIX.replace(/[().']/g, '\\$&')}$`));
    expect(existsSync(join(j.outDir, 'checkpoint'))).toBe(false);
  });

  test('gd with lr 1e30 stops at the step after the update that blew up the weights', async () => {
    const j = job('gd-huge-lr', { optimizer: { type: 'adamw', lr: 1e30 } });
    const e = await failure(j);
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/^unlearning with 'gd' stopped at step 2 of \d+ \(epoch 1 of 2\): non-finite loss NaN, ce_forget NaN, retain NaN, gradient norm NaN; no checkpoint was written; lower the learning rate/);
    expect(existsSync(join(j.outDir, 'checkpoint'))).toBe(false);
  });

  test('the same job with a sane learning rate completes and writes its checkpoint', async () => {
    const j = job('gd-sane', { epochs: 1 });
    const s = await runUnlearning(j);
    expect(Number.isFinite(s.finalLoss)).toBe(true);
    expect(existsSync(join(j.outDir, 'checkpoint'))).toBe(true);
  });
});

describe('empty unlearning data', () => {
  test('a forget split with 0 rows is refused with the config named', async () => {
    const dir = join(root, 'empty-forget');
    cpSync(data, dir, { recursive: true });
    writeFileSync(join(dir, 'forget10', 'train-00000-of-00001.parquet'), encodeParquet(columnsFor('clear', 'forget10'), []));
    const { clear, tofu } = await openDataDir(dir);
    await expect(unlearningData(clear, tofu, 'forget10', 'joint')).rejects.toThrow(
      `config 'forget10' in ${dir} has 0 rows, so the forget set would be empty; regenerate the dataset (clearbench synth) or download the config again (clearbench download)`,
    );
    // The text modality does not read that file and still has its forget set.
    expect((await unlearningData(clear, tofu, 'forget10', 'text')).forget.length).toBeGreaterThan(0);
  });

  test('a retain split with 0 rows in the TOFU text configs', async () => {
    const dir = join(root, 'empty-retain');
    cpSync(data, dir, { recursive: true });
    writeFileSync(join(dir, 'tofu', 'retain90.json'), '');
    const { clear, tofu } = await openDataDir(dir);
    await expect(unlearningData(clear, tofu, 'forget10', 'text')).rejects.toThrow(`config 'retain90' in ${join(dir, 'tofu')} has 0 rows, so the retain set would be empty`);
  });
});
