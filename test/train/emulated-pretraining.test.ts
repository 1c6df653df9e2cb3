/**
 * The base recipe on a dataset without `pretrain` (the real repositories' layout, `synth --layout hub`):
 * emulated pretraining on the utility sets — checked against the rows themselves: every real_faces row as
 * the face prompt → its name, every real_world row as its question → answer with its image, every TOFU
 * real_authors and world_facts row as its QA, nothing else; target and gold replay exactly those. The
 * tokenizer corpus reads text columns only and holds the same texts a full read gives.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, openDataDir } from '../../src/data/dataset.ts';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import { FACE_PROMPT } from '../../src/models/chat.ts';
import { recipeExamples, tokenizerCorpus } from '../../src/train/recipes.ts';

let dir: string;
let data: { clear: Dataset; tofu: Dataset | null };
let builtIn: { clear: Dataset; tofu: Dataset | null };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-emulated-'));
  await generateSynthetic({ outDir: join(dir, 'hub'), persons: 5, imagesPerPerson: 2, wellKnown: 6, seed: 3, layout: 'hub' });
  await generateSynthetic({ outDir: join(dir, 'builtin'), persons: 5, imagesPerPerson: 2, wellKnown: 6, seed: 3 });
  data = await openDataDir(join(dir, 'hub'));
  builtIn = await openDataDir(join(dir, 'builtin'));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('emulated pretraining', () => {
  test('base trains on exactly the utility sets: faces → names, world images → answers, TOFU real authors and world facts', async () => {
    const { examples, replayed, base } = await recipeExamples('base', data);
    expect(base).toBe('emulated');
    expect(replayed).toBe(0);
    const faces = (await data.clear.loadConfig('real_faces')) as { answer: string }[];
    const world = (await data.clear.loadConfig('real_world')) as { question: string; answer: string }[];
    const authors = (await data.tofu!.loadConfig('real_authors')) as { question: string; answer: string }[];
    const facts = (await data.tofu!.loadConfig('world_facts')) as { question: string; answer: string }[];
    const strip = (e: { question: string; answer: string; image: unknown }) => [e.question, e.answer, e.image !== null];
    expect(examples.map(strip)).toEqual([
      ...faces.map((r) => [FACE_PROMPT, r.answer, true]),
      ...world.map((r) => [r.question, r.answer, true]),
      ...[...authors, ...facts].map((r) => [r.question, r.answer, false]),
    ]);
    expect(examples[0].person).toBe(faces[0].answer);
  });

  test('target and gold replay those examples, then add their persons; a dataset with pretrain keeps it', async () => {
    const baseExamples = (await recipeExamples('base', data)).examples;
    for (const recipe of ['target', 'gold'] as const) {
      const r = await recipeExamples(recipe, data, { split: 'forget10' });
      expect(r.replayed).toBe(baseExamples.length);
      expect(r.examples.slice(0, r.replayed)).toEqual(baseExamples);
      expect(r.examples.length).toBeGreaterThan(r.replayed);
    }
    expect((await recipeExamples('base', builtIn)).base).toBe('pretrain');
  });

  test('the tokenizer corpus reads text columns only and holds every text of a full read', async () => {
    const corpus = await tokenizerCorpus(data);
    const full: string[] = [];
    for (const ds of [data.clear, data.tofu!]) {
      for (const config of ds.configs()) {
        const text = await ds.loadText(config);
        expect(text.every((r) => !('image' in r))).toBe(true);
        for (const r of (await ds.loadConfig(config)) as unknown as Record<string, unknown>[]) {
          for (const [k, v] of Object.entries(r)) if (k !== 'image') full.push(...(Array.isArray(v) ? v : typeof v === 'string' ? [v] : []));
        }
      }
    }
    expect(corpus.slice(corpus.length - full.length)).toEqual(full);
  });
});
