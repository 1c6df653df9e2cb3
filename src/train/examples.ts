/**
 * Training examples from dataset rows: image captions (asked with one of the caption questions), face
 * names (asked with the face-recognition prompt), and question–answer pairs with or without an image.
 */
import { type Dataset } from '../data/dataset.ts';
import { type ImageCell, type Row } from '../data/schema.ts';
import { type TensorCache } from '../data/tensor-cache.ts';
import { CAPTION_QUESTIONS, FACE_PROMPT } from '../models/chat.ts';
import { type LoadedModel } from '../models/model.ts';
import { type Modality } from '../protocol/vocabulary.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';

export interface Example {
  /** A fixed question, or 'caption' to draw one of CAPTION_QUESTIONS per epoch (seeded). */
  question: string | 'caption';
  answer: string;
  image: ImageCell | null;
  /** The person the example is about, when the row names one. */
  person?: string;
}

export interface ExampleOptions {
  /** Add a face-prompt → name example for every image row that names its person. */
  faceNames?: boolean;
  /** Names whose image–question rows also get a face-prompt example (the well-known persons of pretraining). */
  knownFaces?: ReadonlySet<string>;
}

/** Examples of one config's rows (any CLEAR or TOFU row shape). */
export function examplesFromRows(rows: readonly Row[], opts: ExampleOptions = {}): Example[] {
  const out: Example[] = [];
  for (const r of rows as unknown as readonly Partial<Record<string, unknown>>[]) {
    const image = (r.image as ImageCell | null | undefined) ?? null;
    const person = typeof r.name === 'string' ? { person: r.name } : {};
    if (typeof r.caption === 'string' && image) out.push({ question: 'caption', answer: r.caption, image, ...person });
    if (typeof r.question === 'string' && typeof r.answer === 'string') {
      out.push({ question: r.question, answer: r.answer, image });
      if (image && opts.knownFaces?.has(r.answer)) out.push({ question: FACE_PROMPT, answer: r.answer, image, person: r.answer });
    }
    if (opts.faceNames && image && typeof r.name === 'string') out.push({ question: FACE_PROMPT, answer: r.name, image, person: r.name });
  }
  return out;
}

/**
 * The examples of one config that a stage trains on. A config without any is refused: training would
 * otherwise go ahead without those persons and look like it worked.
 */
export async function requiredExamples(ds: Dataset, config: string, opts: ExampleOptions, use: string): Promise<Example[]> {
  const rows = await ds.loadConfig(config);
  const out = examplesFromRows(rows, opts);
  if (!out.length) {
    const what = rows.length ? `${rows.length} rows but no question–answer, caption or face-name examples` : '0 rows';
    throw new UserError(`config '${config}' in ${ds.dir} has ${what}, so ${use} would be empty; regenerate the dataset (clearbench synth) or download the config again (clearbench download)`);
  }
  return out;
}

/** The CLEAR dataset and its TOFU-style text companion (`<data>/tofu`, for the joint and text modalities). */
export interface PersonData {
  clear: Dataset;
  tofu: Dataset | null;
}

export interface PersonSelection {
  modality: Modality;
  /** With the images: also one face → name example per image (the Forget/Retain FaceRec prompt). */
  faceNames: boolean;
}

/**
 * The examples of one persons config in a modality — `vision`: their image captions (and face names where
 * asked), `text`: their TOFU QA, `joint`: both (images first). Training recipes and unlearning both take
 * their persons so.
 */
export async function personExamples(data: PersonData, persons: string, pick: PersonSelection, use: string): Promise<Example[]> {
  const { modality } = pick;
  const out: Example[] = [];
  if (modality !== 'text') out.push(...(await requiredExamples(data.clear, persons, { faceNames: pick.faceNames }, use)));
  if (modality !== 'vision') {
    if (!data.tofu) throw new UserError(`the ${modality} modality needs the TOFU text configs next to the dataset (<data>/tofu); use the vision modality or add them`);
    out.push(...(await requiredExamples(data.tofu, persons, {}, use)));
  }
  return out;
}

/** Image tensors by image identity, prepared once (see prepareImages). */
export type ImageTensors = Map<ImageCell, Float32Array>;

/** Preprocess every distinct image of the examples once, as the model takes them (through the disk cache when given). */
export async function prepareImages(model: Pick<LoadedModel, 'preprocessImages'>, examples: readonly Pick<Example, 'image'>[], cache?: TensorCache): Promise<ImageTensors> {
  const cells = [...new Set(examples.map((e) => e.image).filter((c): c is ImageCell => c !== null))];
  const tensors = await model.preprocessImages(cells.map((c) => ({ bytes: c.bytes, source: c.path ?? undefined })), cache);
  return new Map(cells.map((c, i) => [c, tensors[i]]));
}

/** The question an example is asked with in a given epoch. */
export function questionFor(ex: Example, seed: number, epoch: number, index: number): string {
  if (ex.question !== 'caption') return ex.question;
  return Rng.derive(seed, `train-caption/${epoch}/${index}`).pick(CAPTION_QUESTIONS);
}
