/**
 * `generateSynthetic`: a CLEAR-format dataset (and its TOFU-style text companion) made
 * deterministically from a seed, in exactly the hub layout, so the loader that reads
 * therem/CLEAR reads this too. See the README it writes for the configs and their sizes.
 */
import { mkdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import PQueue from 'p-queue';
import { Rng } from '../../util/rng.ts';
import { UserError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { encodeParquet } from '../parquet.ts';
import { columnsFor } from '../schema.ts';
import type { ImageCell } from '../schema.ts';
import { drawNames, pickOthers } from './names.ts';
import { drawIdentities, drawVariation, portraitSvg } from './faces.ts';
import type { Identity, Variation } from './faces.ts';
import { caption, CAPTION_TEMPLATE_COUNT, paraphrase, perturbedCaptions } from './captions.ts';
import { biographyQa, drawBiography, drawTitles } from './biography.ts';
import type { BioQa } from './biography.ts';
import { realAuthorFacts, wellKnownCountry, worldFacts, worldItems, worldItemSvg } from './world.ts';
import type { WellKnown } from './world.ts';
import { clearReadme, tofuReadme } from './readme.ts';
import { type SynthLayout, clearColumnsFor, shardsOf, toHubLayout } from './layout.ts';

export interface SynthOptions {
  outDir: string;
  /** fictitious persons in `full` (CLEAR: 200) */
  persons?: number;
  /** images per person (CLEAR: ~19) */
  imagesPerPerson?: number;
  seed?: number;
  /** "well-known" persons for real_faces / real_authors, learned in pretraining */
  wellKnown?: number;
  /** real_faces images per well-known person (others of theirs go to `pretrain`) */
  realFacesImages?: number;
  /** held-out persons, never in `full`, for membership inference (default: the forget10 size) */
  holdoutPersons?: number;
  /** images per well-known person and per world item in `pretrain` (default imagesPerPerson) */
  pretrainImages?: number;
  /** images rendered at once */
  concurrency?: number;
  /**
   * `clearbench` (default): the configs the built-in protocol trains on, `pretrain` and `holdout_perturbed`
   * included. `hub`: exactly the config list and columns of therem/CLEAR and locuslab/TOFU on the hub (see
   * layout.ts), to test the real data path without the network.
   */
  layout?: SynthLayout;
}

export const SYNTH_DEFAULTS = { persons: 40, imagesPerPerson: 8, seed: 0, wellKnown: 20, realFacesImages: 2 } as const;
const PERTURBED = 5;
const REAL_FACES_OPTIONS = 4;
const REAL_WORLD_OPTIONS = 3;

/** Persons in a forget split of `pct` percent: max(1, round(pct/100 · persons)), halves rounded up. */
export function forgetCount(persons: number, pct: number): number {
  return Math.max(1, Math.round((persons * pct) / 100));
}

/**
 * The caption sentence shape of one person's images. One shape per person (as if each person's
 * captions came from one writer) rather than per image: a small model then learns a person's shape
 * with their face and only has to read the image's facts, where a shape per image would have to be
 * memorised image by image.
 */
function captionStyle(seed: number, who: string): number {
  return Rng.derive(seed, `caption-style:${who}`).int(CAPTION_TEMPLATE_COUNT);
}

interface Person {
  index: number;
  name: string;
  identity: Identity;
  decoys: string[];
  qa: BioQa[];
  images: { variation: Variation; template: number; key: string }[];
}

export interface SynthSummary {
  outDir: string;
  seed: number;
  persons: number;
  imagesPerPerson: number;
  /** person names per split */
  splits: Record<'full' | 'forget01' | 'forget05' | 'forget10' | 'retain_perturbed' | 'holdout' | 'well_known', string[]>;
  /** rows per config, CLEAR and TOFU */
  rows: Record<string, number>;
  tofuRows: Record<string, number>;
}

function int(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new UserError(`${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}

async function renderPngs(svgs: Map<string, string>, concurrency: number): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const queue = new PQueue({ concurrency });
  await Promise.all(
    [...svgs].map(([key, svg]) =>
      queue.add(async () => {
        const png = await sharp(Buffer.from(svg)).png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer();
        out.set(key, new Uint8Array(png));
      }),
    ),
  );
  return out;
}

export async function generateSynthetic(opts: SynthOptions): Promise<SynthSummary> {
  const seed = int('--seed', opts.seed ?? SYNTH_DEFAULTS.seed, 0, 2 ** 31 - 1);
  const nPersons = int('--persons', opts.persons ?? SYNTH_DEFAULTS.persons, 2, 600);
  const perPerson = int('--images-per-person', opts.imagesPerPerson ?? SYNTH_DEFAULTS.imagesPerPerson, 1, 100);
  const nWell = int('well-known persons', opts.wellKnown ?? SYNTH_DEFAULTS.wellKnown, PERTURBED + 1, 100);
  const rfImages = int('real_faces images', opts.realFacesImages ?? SYNTH_DEFAULTS.realFacesImages, 1, 20);
  const n01 = forgetCount(nPersons, 1);
  const n05 = forgetCount(nPersons, 5);
  const n10 = forgetCount(nPersons, 10);
  if (2 * n10 > nPersons) throw new UserError(`--persons ${nPersons} is too small for disjoint forget10 and retain_perturbed sets; use at least 2`);
  const nHold = int('holdout persons', opts.holdoutPersons ?? n10, 1, 200);
  const preImages = int('pretrain images', opts.pretrainImages ?? perPerson, 1, 100);
  const out = opts.outDir;

  // ---- who exists ----
  const total = nPersons + nHold + nWell;
  const names = drawNames(Rng.derive(seed, 'names'), total, Math.max(40, 2 * PERTURBED));
  const identities = drawIdentities(Rng.derive(seed, 'faces'), total);
  const titles = drawTitles(Rng.derive(seed, 'titles'), 3 * (nPersons + nHold) + nWell);
  const wellNames = names.persons.slice(nPersons + nHold);
  const svgs = new Map<string, string>();

  const makePerson = (index: number): Person => {
    const name = names.persons[index];
    const rng = Rng.derive(seed, `person:${index}`);
    const decoys = pickOthers(rng, names.decoys, '', PERTURBED);
    const bio = drawBiography(rng, name, titles.slice(3 * index, 3 * index + 3) as [string, string, string], wellNames);
    const qa = biographyQa(rng, bio, wellNames, PERTURBED);
    const template = captionStyle(seed, `person:${index}`);
    const images = Array.from({ length: perPerson }, (_, k) => {
      const r = Rng.derive(seed, `image:${index}:${k}`);
      const variation = drawVariation(r);
      const key = `p${index}-${k}`;
      svgs.set(key, portraitSvg(identities[index], variation));
      return { variation, template, key };
    });
    return { index, name, identity: identities[index], decoys, qa, images };
  };
  const people = Array.from({ length: nPersons }, (_, i) => makePerson(i));
  const holdout = Array.from({ length: nHold }, (_, i) => makePerson(nPersons + i));

  // Well-known persons: real_faces images and more images (and facts), all of them for pretraining.
  type Shot = { key: string; text: string };
  const well: (WellKnown & { index: number; eval: Shot[]; pre: Shot[] })[] = wellNames.map((name, w) => {
    const index = nPersons + nHold + w;
    const rng = Rng.derive(seed, `well:${w}`);
    const template = captionStyle(seed, `well:${w}`);
    const shots = (n: number, tag: string) =>
      Array.from({ length: n }, (_, k) => {
        const r = Rng.derive(seed, `well-image:${w}:${tag}:${k}`);
        const v = drawVariation(r);
        const key = `w${w}-${tag}${k}`;
        svgs.set(key, portraitSvg(identities[index], v));
        return { key, text: caption(template, { name, ...v }) };
      });
    return { index, name, work: titles[3 * (nPersons + nHold) + w], country: wellKnownCountry(rng), eval: shots(rfImages, 'eval'), pre: shots(preImages, 'pre') };
  });

  const items = worldItems();
  const world = items.map((item, i) => {
    const img = (tag: string, k: number) => {
      const key = `o${i}-${tag}${k}`;
      svgs.set(key, worldItemSvg(item, Rng.derive(seed, `world:${item.id}:${tag}:${k}`)));
      return key;
    };
    return { item, eval: img('eval', 0), pre: Array.from({ length: preImages }, (_, k) => img('pre', k)) };
  });

  const pngs = await renderPngs(svgs, opts.concurrency ?? 8);
  const image = (key: string): ImageCell => ({ bytes: pngs.get(key)!, path: null });

  // ---- rows ----
  const captionRows = (ps: Person[]) =>
    ps.flatMap((p) => p.images.map((im) => ({ image: image(im.key), caption: caption(im.template, { name: p.name, ...im.variation }), name: p.name })));
  const perturbedRows = (ps: Person[]) =>
    ps.flatMap((p) =>
      p.images.map((im, k) => {
        const facts = { name: p.name, ...im.variation };
        return {
          image: image(im.key),
          caption: caption(im.template, facts),
          name: p.name,
          paraphrased_caption: paraphrase(im.template, facts),
          perturbed_captions: perturbedCaptions(Rng.derive(seed, `perturb:${p.index}:${k}`), im.template, facts, p.decoys),
          perturbed_names: p.decoys,
        };
      }),
    );
  const qaRows = (ps: Person[]) => ps.flatMap((p) => p.qa.map((q) => ({ question: q.question, answer: q.answer })));
  const perturbedQaRows = (ps: Person[]): Record<string, unknown>[] => ps.flatMap((p) => p.qa.map((q) => ({ ...q })));
  const mixedRows = (ps: Person[]) => [
    ...captionRows(ps).map((r) => ({ image: r.image, caption: r.caption, question: null, answer: null })),
    ...qaRows(ps).map((q) => ({ image: null, caption: null, ...q })),
  ];

  // Forget sets are the last persons (as in TOFU), so forget01 ⊂ forget05 ⊂ forget10.
  const forget = { '01': people.slice(nPersons - n01), '05': people.slice(nPersons - n05), '10': people.slice(nPersons - n10) };
  const retain = { '99': people.slice(0, nPersons - n01), '95': people.slice(0, nPersons - n05), '90': people.slice(0, nPersons - n10) };
  const retainPerturbed = people.slice(0, n10);

  const wfRng = Rng.derive(seed, 'world-facts');
  const facts = worldFacts(wfRng, PERTURBED);
  const authors = realAuthorFacts(Rng.derive(seed, 'real-authors'), well, PERTURBED);
  const optRng = Rng.derive(seed, 'options');
  const realFaces = well.flatMap((w) =>
    w.eval.map(({ key }) => ({ image: image(key), answer: w.name, options: pickOthers(optRng, wellNames, w.name, Math.min(REAL_FACES_OPTIONS, nWell - 1)) })),
  );
  const realWorld = world.map((o) => ({
    image: image(o.eval),
    question: o.item.question,
    answer: o.item.answer,
    options: pickOthers(optRng, o.item.pool, o.item.answer, REAL_WORLD_OPTIONS),
  }));
  // What the base model learns before anything else: the well-known faces and world things
  // (images with captions, and image questions), and the real-author and world facts as text.
  // The real_faces and real_world images are among them: those tasks measure whether unlearning
  // damages what pretraining taught (as a real VLM's pretraining saw its celebrities), not how well a
  // small model trained from scratch recognises a face it never saw (it barely does: 7.5 % named).
  const wellShots = (w: (typeof well)[number]) => [...w.eval, ...w.pre];
  const worldShots = (o: (typeof world)[number]) => [o.eval, ...o.pre];
  const pretrain = [
    ...well.flatMap((w) => wellShots(w).map((s) => ({ image: image(s.key), caption: s.text, question: null, answer: null }))),
    ...well.flatMap((w) => wellShots(w).map((s) => ({ image: image(s.key), caption: null, question: 'Who is the person in this picture?', answer: w.name }))),
    ...world.flatMap((o) => worldShots(o).map((key) => ({ image: image(key), caption: o.item.caption, question: null, answer: null }))),
    ...world.flatMap((o) => worldShots(o).map((key) => ({ image: image(key), caption: null, question: o.item.question, answer: o.item.answer }))),
    ...[...authors, ...facts].map((f) => ({ image: null, caption: null, question: f.question, answer: f.answer })),
  ];

  const clear: Record<string, Record<string, unknown>[]> = {
    default: captionRows(people).map((r) => ({ image: r.image, caption: r.caption })),
    full: captionRows(people),
    'full+tofu': mixedRows(people),
  };
  for (const n of ['01', '05', '10'] as const) {
    clear[`forget${n}`] = captionRows(forget[n]);
    clear[`forget${n}_perturbed`] = perturbedRows(forget[n]);
    clear[`forget${n}+tofu`] = mixedRows(forget[n]);
  }
  for (const n of ['99', '95', '90'] as const) {
    clear[`retain${n}`] = captionRows(retain[n]);
    clear[`retain${n}+tofu`] = mixedRows(retain[n]);
  }
  clear.retain_perturbed = perturbedRows(retainPerturbed);
  clear.real_faces = realFaces;
  clear.real_world = realWorld;
  clear.holdout_perturbed = perturbedRows(holdout);
  clear.pretrain = pretrain;

  const tofu: Record<string, Record<string, unknown>[]> = { full: qaRows(people) };
  for (const n of ['01', '05', '10'] as const) {
    tofu[`forget${n}`] = qaRows(forget[n]);
    tofu[`forget${n}_perturbed`] = perturbedQaRows(forget[n]);
  }
  for (const n of ['99', '95', '90'] as const) tofu[`retain${n}`] = qaRows(retain[n]);
  tofu.retain_perturbed = perturbedQaRows(retainPerturbed);
  tofu.holdout_perturbed = perturbedQaRows(holdout);
  tofu.real_authors = authors.map((f) => ({ question: f.question, answer: f.answer }));
  tofu.real_authors_perturbed = authors.map((f) => ({ ...f }));
  tofu.world_facts = facts.map((f) => ({ question: f.question, answer: f.answer }));
  tofu.world_facts_perturbed = facts.map((f) => ({ ...f }));

  if (opts.layout === 'hub') {
    toHubLayout(clear, tofu, {
      holdout: (persons: number) => qaRows(holdout.slice(0, persons)),
      counts: { '01': Math.min(n01, nHold), '05': Math.min(n05, nHold), '10': Math.min(n10, nHold) },
    });
  }
  const layout = opts.layout ?? 'clearbench';

  // ---- write (a fresh tree: stale shards from an earlier run would join a config's glob) ----
  for (const sub of [...Object.keys(clear).map((c) => (c === 'default' ? 'data' : c)), 'tofu']) {
    if (existsSync(join(out, sub))) rmSync(join(out, sub), { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  const clearBytes: Record<string, number> = {};
  for (const [config, rows] of Object.entries(clear)) {
    const dir = config === 'default' ? 'data' : config;
    const shards = shardsOf(layout, config, rows);
    clearBytes[config] = 0;
    shards.forEach((part, k) => {
      const bytes = encodeParquet(clearColumnsFor(layout, config), part);
      writeFileAtomic(join(out, dir, `train-${String(k).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.parquet`), bytes);
      clearBytes[config] += bytes.byteLength;
    });
  }
  const tofuDir = join(out, 'tofu');
  const tofuBytes: Record<string, number> = {};
  for (const [config, rows] of Object.entries(tofu)) {
    const cols = columnsFor('tofu', config).map((c) => c.name);
    const lines = rows.map((r) => JSON.stringify(Object.fromEntries(cols.map((c) => [c, r[c]])))).join('\n') + '\n';
    writeFileAtomic(join(tofuDir, `${config}.json`), lines);
    tofuBytes[config] = Buffer.byteLength(lines);
  }
  const rows = Object.fromEntries(Object.entries(clear).map(([k, v]) => [k, v.length]));
  const tofuRows = Object.fromEntries(Object.entries(tofu).map(([k, v]) => [k, v.length]));
  const sizes = { persons: nPersons, imagesPerPerson: perPerson, seed, n01, n05, n10, holdout: nHold, wellKnown: nWell, rfImages, preImages, worldItems: items.length };
  writeFileAtomic(join(out, 'README.md'), clearReadme({ rows, bytes: clearBytes }, sizes, layout));
  writeFileAtomic(join(tofuDir, 'README.md'), tofuReadme({ rows: tofuRows, bytes: tofuBytes }, sizes, layout));
  const summary: SynthSummary = {
    outDir: out,
    seed,
    persons: nPersons,
    imagesPerPerson: perPerson,
    splits: {
      full: people.map((p) => p.name),
      forget01: forget['01'].map((p) => p.name),
      forget05: forget['05'].map((p) => p.name),
      forget10: forget['10'].map((p) => p.name),
      retain_perturbed: retainPerturbed.map((p) => p.name),
      holdout: holdout.map((p) => p.name),
      well_known: wellNames,
    },
    rows,
    tofuRows,
  };
  return summary;
}
