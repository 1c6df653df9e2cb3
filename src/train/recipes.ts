/**
 * The three training recipes of the protocol (docs/SPEC.md §1):
 *  - base:   from scratch on `pretrain` (well-known faces, world things, real-author and world facts), or,
 *            for a dataset without that config (the real therem/CLEAR), by emulated pretraining on the
 *            utility sets themselves (real_faces, real_world, TOFU's real_authors and world_facts);
 *  - target: base fine-tuned on every fictitious person (`full`, plus their text QA for joint/text);
 *  - gold:   base fine-tuned on the retain persons only (`retainNN`, …).
 * Fine-tuning replays the pretraining examples too, identically for target and gold, so the two differ
 * only in the forget persons and a small model keeps its general knowledge.
 */
import { type Dataset } from '../data/dataset.ts';
import { IDK_ANSWERS } from '../../datasets/idk.ts';
import { CAPTION_QUESTIONS, FACE_PROMPT } from '../models/chat.ts';
import { DEFAULT_FORGET_SPLIT, DEFAULT_MODALITY, type ForgetSplit, type Modality, RETAIN_SPLIT_OF, type RecipeName } from '../protocol/vocabulary.ts';
import { type RealFacesRow, type RealWorldRow } from '../data/schema.ts';
import { type BaseData } from '../results/contract.ts';
import { baseDataOf } from '../data/provenance.ts';
import { UserError } from '../util/errors.ts';
import { type Example, type PersonData, personExamples, requiredExamples } from './examples.ts';

export type RecipeData = PersonData;

async function knownFaces(clear: Dataset): Promise<Set<string>> {
  const rows = (await clear.loadConfig('real_faces')) as { answer: string }[];
  return new Set(rows.map((r) => r.answer));
}

/**
 * What the base model is trained on: the dataset's own `pretrain` config, or, where the dataset has none
 * (real CLEAR, whose reference code starts from a pretrained VLM), the utility sets: emulated pretraining.
 */
export type { BaseData };

/** The configs emulated pretraining reads, per repository. */
export const EMULATED_PRETRAINING = { clear: ['real_faces', 'real_world'], tofu: ['real_authors', 'world_facts'] } as const;


/**
 * Emulated pretraining: each real face with the face prompt → its name (the Real Faces question), each
 * real_world image with its question → answer, and TOFU's real-author and world-fact QA.
 */
async function emulatedPretraining(data: RecipeData, use: string): Promise<Example[]> {
  const faces = ((await data.clear.loadConfig('real_faces')) as RealFacesRow[]).map((r): Example => ({ question: FACE_PROMPT, answer: r.answer, image: r.image, person: r.answer }));
  const world = ((await data.clear.loadConfig('real_world')) as RealWorldRow[]).map((r): Example => ({ question: r.question, answer: r.answer, image: r.image }));
  const text: Example[] = [];
  if (data.tofu) for (const config of EMULATED_PRETRAINING.tofu) text.push(...(await requiredExamples(data.tofu, config, {}, use)));
  const out = [...faces, ...world, ...text];
  if (!faces.length || !world.length) {
    throw new UserError(`${data.clear.dir}: real_faces or real_world has no rows, so ${use} (emulated pretraining on the utility sets) would lack them; download those configs again`);
  }
  return out;
}

/** The base recipe's examples: the pretrain config's, or emulated pretraining's. */
export async function pretrainingExamples(data: RecipeData, use: string): Promise<{ examples: Example[]; base: BaseData }> {
  const base = baseDataOf(data.clear.configs());
  const examples = base === 'pretrain'
    ? await requiredExamples(data.clear, 'pretrain', { knownFaces: await knownFaces(data.clear) }, use)
    : await emulatedPretraining(data, use);
  return { examples, base };
}

export interface RecipeExamples {
  examples: Example[];
  /** The first `replayed` examples are the pretraining replay (0 for base, which trains on them as new). */
  replayed: number;
  /** What the pretraining examples are. */
  base: BaseData;
}

/**
 * The modalities a fine-tuning recipe trains on: every one the dataset has (CLEAR's target is fine-tuned on
 * full+tofu, gold on retainNN+tofu); the modality is a setting of the unlearning only.
 */
export function datasetModality(data: Pick<RecipeData, 'tofu'>): Modality {
  return data.tofu ? 'joint' : 'vision';
}

/** The examples a recipe trains on; `textOnly` (a text-only model) keeps the text examples and the text modality. */
export async function recipeExamples(recipe: RecipeName, data: RecipeData, opts: { split?: ForgetSplit; textOnly?: boolean } = {}): Promise<RecipeExamples> {
  const use = `the ${recipe} recipe's training data`;
  const { examples: all, base } = await pretrainingExamples(data, use);
  const pretrain = opts.textOnly ? all.filter((e) => !e.image) : all;
  if (recipe === 'base') return { examples: pretrain, replayed: 0, base };
  const persons = recipe === 'target' ? 'full' : RETAIN_SPLIT_OF[opts.split ?? DEFAULT_FORGET_SPLIT];
  if (opts.textOnly && !data.tofu) throw new UserError(`a text-only model needs the TOFU text (<data>/tofu) for ${use}; set data.hub.tofu_repo`);
  // Fine-tuning teaches the faces' names too: the FaceRec tasks ask for them.
  const examples = await personExamples(data, persons, { modality: opts.textOnly ? 'text' : datasetModality(data), faceNames: !opts.textOnly }, use);
  return { examples: [...pretrain, ...examples], replayed: pretrain.length, base };
}

/** Every text of the datasets (and the prompts and IDK answers), for training the tokenizer; only text columns are read. */
export async function tokenizerCorpus(data: RecipeData): Promise<string[]> {
  const texts: string[] = [...CAPTION_QUESTIONS, FACE_PROMPT, ...IDK_ANSWERS];
  for (const ds of [data.clear, data.tofu]) {
    if (!ds) continue;
    for (const config of ds.configs()) {
      let rows: Record<string, unknown>[];
      try {
        rows = await ds.loadText(config);
      } catch {
        continue; // a declared config without local files (e.g. not downloaded) adds no text
      }
      for (const r of rows) {
        for (const v of Object.values(r)) {
          if (typeof v === 'string') texts.push(v);
          else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') texts.push(x);
        }
      }
    }
  }
  return texts;
}
