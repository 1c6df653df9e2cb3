/**
 * The three training recipes of the protocol (docs/SPEC.md §1):
 *  - base:   from scratch on `pretrain` (well-known faces, world things, real-author and world facts);
 *  - target: base fine-tuned on every fictitious person (`full`, plus their text QA for joint/text);
 *  - gold:   base fine-tuned on the retain persons only (`retainNN`, …).
 * Fine-tuning replays the pretraining examples too, identically for target and gold, so the two differ
 * only in the forget persons and a small model keeps its general knowledge.
 */
import { type Dataset } from '../data/dataset.ts';
import { type Row } from '../data/schema.ts';
import { IDK_ANSWERS } from '../../datasets/idk.ts';
import { CAPTION_QUESTIONS, FACE_PROMPT } from '../models/chat.ts';
import { DEFAULT_FORGET_SPLIT, DEFAULT_MODALITY, type ForgetSplit, type Modality, RETAIN_SPLIT_OF, type RecipeName } from '../protocol/vocabulary.ts';
import { UserError } from '../util/errors.ts';
import { type Example, type PersonData, personExamples, requiredExamples } from './examples.ts';

export type RecipeData = PersonData;

async function knownFaces(clear: Dataset): Promise<Set<string>> {
  const rows = (await clear.loadConfig('real_faces')) as { answer: string }[];
  return new Set(rows.map((r) => r.answer));
}

export interface RecipeExamples {
  examples: Example[];
  /** The first `replayed` examples are the pretraining replay (0 for base, which trains on them as new). */
  replayed: number;
}

/** The examples a recipe trains on. */
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
  const all = await requiredExamples(data.clear, 'pretrain', { knownFaces: await knownFaces(data.clear) }, use);
  const pretrain = opts.textOnly ? all.filter((e) => !e.image) : all;
  if (recipe === 'base') return { examples: pretrain, replayed: 0 };
  const persons = recipe === 'target' ? 'full' : RETAIN_SPLIT_OF[opts.split ?? DEFAULT_FORGET_SPLIT];
  if (opts.textOnly && !data.tofu) throw new UserError(`a text-only model needs the TOFU text (<data>/tofu) for ${use}; set data.hub.tofu_repo`);
  // Fine-tuning teaches the faces' names too: the FaceRec tasks ask for them.
  const examples = await personExamples(data, persons, { modality: opts.textOnly ? 'text' : datasetModality(data), faceNames: !opts.textOnly }, use);
  return { examples: [...pretrain, ...examples], replayed: pretrain.length };
}

/** Every text of the datasets (and the prompts and IDK answers), for training the tokenizer. */
export async function tokenizerCorpus(data: RecipeData): Promise<string[]> {
  const texts: string[] = [...CAPTION_QUESTIONS, FACE_PROMPT, ...IDK_ANSWERS];
  for (const ds of [data.clear, data.tofu]) {
    if (!ds) continue;
    for (const config of ds.configs()) {
      let rows: Row[];
      try {
        rows = await ds.loadConfig(config);
      } catch {
        continue; // a declared config without local files (e.g. not downloaded) adds no text
      }
      for (const r of rows as unknown as Record<string, unknown>[]) {
        for (const [k, v] of Object.entries(r)) {
          if (k === 'image') continue;
          if (typeof v === 'string') texts.push(v);
          else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') texts.push(x);
        }
      }
    }
  }
  return texts;
}
