/**
 * The synthetic CLEAR-format dataset (docs/SPEC.md §2.2): every config in the hub layout with the
 * columns and types of docs/SPEC.md §2.1, forget/retain splits by person, byte-identical output for
 * the same seed, identities that differ clearly, and every image decodable.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openClear, openTofu } from '../../src/data/dataset.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { imagesToTensor } from '../../src/data/images.ts';
import { forgetCount, generateSynthetic } from '../../src/data/synth/generate.ts';
import type { SynthSummary } from '../../src/data/synth/generate.ts';
import { drawIdentities, MIN_DIFFERENCES, visibleDifferences } from '../../src/data/synth/faces.ts';
import { Rng } from '../../src/util/rng.ts';
import sharp from 'sharp';
import { cleanup, tempDir, tinyDataset, TINY } from './helpers.ts';

/** Config names of therem/CLEAR on the hub (docs/SPEC.md §2.1), plus our two extra configs. */
const HUB_CONFIGS = [
  'default', 'full', 'forget01', 'forget05', 'forget10', 'retain99', 'retain95', 'retain90',
  'forget01_perturbed', 'forget05_perturbed', 'forget10_perturbed', 'retain_perturbed',
  'full+tofu', 'forget01+tofu', 'forget05+tofu', 'forget10+tofu', 'retain99+tofu', 'retain95+tofu', 'retain90+tofu',
  'real_faces', 'real_world',
];
const TOFU_CONFIGS = [
  'full', 'forget01', 'forget05', 'forget10', 'retain99', 'retain95', 'retain90', 'forget01_perturbed', 'forget05_perturbed',
  'forget10_perturbed', 'retain_perturbed', 'real_authors', 'real_authors_perturbed', 'world_facts', 'world_facts_perturbed', 'holdout_perturbed',
];

let dir: string;
let root: string;
let summary: SynthSummary;
let clear: Dataset<'clear'>;
let tofu: Dataset<'tofu'>;

beforeAll(async () => {
  ({ dir, root, summary } = await tinyDataset('synth'));
  clear = await openClear(dir);
  tofu = await openTofu(join(dir, 'tofu'));
});
afterAll(() => cleanup(root));

function allFiles(d: string): string[] {
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? allFiles(join(d, n)) : [join(d, n)]));
}

const names = (rows: { name: string }[]) => new Set(rows.map((r) => r.name));

describe('layout', () => {
  test('every hub config (and the extras) is declared and stored as <config>/train-00000-of-00001.parquet', () => {
    expect(new Set(clear.configs())).toEqual(new Set([...HUB_CONFIGS, 'pretrain', 'holdout_perturbed']));
    for (const c of clear.configs()) {
      const files = clear.files(c).map((f) => relative(dir, f));
      expect(files).toEqual([`${c === 'default' ? 'data' : c}/train-00000-of-00001.parquet`]);
    }
    expect(new Set(tofu.configs())).toEqual(new Set(TOFU_CONFIGS));
    for (const c of TOFU_CONFIGS) expect(tofu.files(c).map((f) => relative(join(dir, 'tofu'), f))).toEqual([`${c}.json`]);
  });

  test('the README lists the configs and states the forget sizes rule', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toMatch(/max\(1, round\(p × persons\)\)/);
    for (const c of HUB_CONFIGS) expect(readme).toContain(`config_name: ${c}\n`);
  });
});

describe('columns and types (docs/SPEC.md §2.1)', () => {
  test('caption configs: image bytes, caption and name strings', async () => {
    for (const c of ['full', 'forget01', 'forget05', 'forget10', 'retain99', 'retain95', 'retain90'] as const) {
      const rows = await clear.loadConfig(c);
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(r.image.bytes).toBeInstanceOf(Uint8Array);
        expect(typeof r.caption).toBe('string');
        expect(typeof r.name).toBe('string');
        expect(r.caption).toContain(r.name); // captions name the person
      }
    }
    const dflt = await clear.loadConfig('default');
    expect(Object.keys(dflt[0]).sort()).toEqual(['caption', 'image']);
  });

  test('perturbed configs: paraphrase and 5 perturbed captions / names, none equal to the truth', async () => {
    for (const c of ['forget01_perturbed', 'forget05_perturbed', 'forget10_perturbed', 'retain_perturbed', 'holdout_perturbed'] as const) {
      for (const r of await clear.loadConfig(c)) {
        expect(r.paraphrased_caption).toContain(r.name);
        expect(r.paraphrased_caption).not.toBe(r.caption);
        expect(r.perturbed_captions).toHaveLength(5);
        expect(r.perturbed_names).toHaveLength(5);
        expect(r.perturbed_names).not.toContain(r.name);
        for (const p of r.perturbed_captions) expect(p).not.toContain(r.name);
      }
    }
  });

  test('+tofu rows are image rows or text rows, the text being the persons’ 20 QA each', async () => {
    for (const n of ['01', '05', '10'] as const) {
      const rows = await clear.loadConfig(`forget${n}+tofu`);
      const img = rows.filter((r) => r.image);
      const txt = rows.filter((r) => !r.image);
      for (const r of img) expect([typeof r.caption, r.question, r.answer]).toEqual(['string', null, null]);
      for (const r of txt) expect([r.caption, typeof r.question, typeof r.answer]).toEqual([null, 'string', 'string']);
      expect(img).toHaveLength(summary.splits[`forget${n}`].length * TINY.imagesPerPerson);
      expect(txt).toHaveLength(summary.splits[`forget${n}`].length * 20);
    }
    expect((await clear.loadConfig('full+tofu')).length).toBe(TINY.persons * (TINY.imagesPerPerson + 20));
  });

  test('real_faces / real_world: options are wrong answers only', async () => {
    const faces = await clear.loadConfig('real_faces');
    expect(faces.length).toBeGreaterThan(0);
    for (const r of faces) {
      expect(r.options.length).toBeGreaterThanOrEqual(3);
      expect(r.options).not.toContain(r.answer);
      expect(summary.splits.well_known).toContain(r.answer);
    }
    const world = await clear.loadConfig('real_world');
    for (const r of world) {
      expect(typeof r.question).toBe('string');
      expect(r.options).toHaveLength(3);
      expect(r.options).not.toContain(r.answer);
    }
  });

  test('TOFU text: 20 QA per person, perturbed answers differ from the answer', async () => {
    expect(await tofu.loadConfig('full')).toHaveLength(TINY.persons * 20);
    for (const c of ['forget10_perturbed', 'retain_perturbed', 'holdout_perturbed'] as const) {
      for (const r of await tofu.loadConfig(c)) {
        expect(r.perturbed_answer).toHaveLength(5);
        expect(r.perturbed_answer).not.toContain(r.answer);
        expect(typeof r.paraphrased_question).toBe('string');
        expect(typeof r.paraphrased_answer).toBe('string');
      }
    }
    for (const c of ['real_authors_perturbed', 'world_facts_perturbed'] as const) {
      for (const r of await tofu.loadConfig(c)) expect(r.perturbed_answer).not.toContain(r.answer);
    }
  });
});

describe('splits by person', () => {
  test('forget and retain are disjoint and their union is full; forget01 ⊂ 05 ⊂ 10', async () => {
    const full = names(await clear.loadConfig('full'));
    expect(full.size).toBe(TINY.persons);
    for (const [f, r] of [['forget01', 'retain99'], ['forget05', 'retain95'], ['forget10', 'retain90']] as const) {
      const fs = names(await clear.loadConfig(f));
      const rs = names(await clear.loadConfig(r));
      expect([...fs].filter((n) => rs.has(n))).toEqual([]);
      expect(new Set([...fs, ...rs])).toEqual(full);
    }
    const f01 = names(await clear.loadConfig('forget01'));
    const f05 = names(await clear.loadConfig('forget05'));
    const f10 = names(await clear.loadConfig('forget10'));
    expect([...f01].every((n) => f05.has(n))).toBe(true);
    expect([...f05].every((n) => f10.has(n))).toBe(true);
    const rp = names(await clear.loadConfig('retain_perturbed'));
    expect([...rp].filter((n) => f10.has(n))).toEqual([]);
    const hold = names(await clear.loadConfig('holdout_perturbed'));
    expect([...hold].filter((n) => full.has(n))).toEqual([]);
    expect(names(await clear.loadConfig('forget10_perturbed'))).toEqual(f10);
  });

  test('forget sizes are max(1, round(p · persons)), halves rounded up', () => {
    expect([1, 5, 10].map((p) => forgetCount(200, p))).toEqual([2, 10, 20]); // CLEAR / TOFU
    expect([1, 5, 10].map((p) => forgetCount(40, p))).toEqual([1, 2, 4]);
    expect([1, 5, 10].map((p) => forgetCount(6, p))).toEqual([1, 1, 1]);
    expect(forgetCount(50, 5)).toBe(3); // 2.5 → 3
    expect(forgetCount(30, 5)).toBe(2); // 1.5 → 2
  });

  test('TOFU configs cover the same persons as the CLEAR ones', async () => {
    const f10 = [...names(await clear.loadConfig('forget10'))];
    const qa = await tofu.loadConfig('forget10');
    for (const name of f10) expect(qa.filter((r) => r.question.includes(name))).toHaveLength(20);
  });
});

describe('faces', () => {
  test(`any two identities differ in at least ${MIN_DIFFERENCES} clearly visible traits (CLEAR scale)`, () => {
    const ids = drawIdentities(new Rng(3), 240);
    let min = Infinity;
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) min = Math.min(min, visibleDifferences(ids[i], ids[j]));
    expect(min).toBeGreaterThanOrEqual(MIN_DIFFERENCES);
  });

  test('every image of every config decodes to a 128×128 picture and to a tensor', async () => {
    for (const r of await clear.loadConfig('full')) {
      const m = await sharp(r.image.bytes).metadata();
      expect([m.format, m.width, m.height]).toEqual(['png', 128, 128]);
    }
    for (const c of clear.configs()) {
      const rows = (await clear.loadConfig(c)) as { image?: { bytes: Uint8Array } | null }[];
      const imgs = rows.filter((r) => r.image).map((r, i) => ({ bytes: r.image!.bytes, source: `${c} row ${i}` }));
      const t = await imagesToTensor(imgs, 16);
      expect(t.length).toBe(imgs.length * 3 * 16 * 16);
      expect(t.every((v) => v >= -1 && v <= 1)).toBe(true);
    }
  });
});

describe('determinism', () => {
  test('same seed and sizes → byte-identical files; another seed → different data', async () => {
    const again = tempDir('synth-again');
    try {
      await generateSynthetic({ outDir: again, ...TINY });
      const a = allFiles(dir).map((f) => relative(dir, f)).sort();
      const b = allFiles(again).map((f) => relative(again, f)).sort();
      expect(b).toEqual(a);
      for (const f of a) expect(readFileSync(join(again, f)).equals(readFileSync(join(dir, f)))).toBe(true);
      const other = join(again, 'other');
      await generateSynthetic({ outDir: other, ...TINY, seed: TINY.seed + 1 });
      expect(readFileSync(join(other, 'full/train-00000-of-00001.parquet')).equals(readFileSync(join(dir, 'full/train-00000-of-00001.parquet')))).toBe(false);
    } finally {
      cleanup(again);
    }
  });
});
