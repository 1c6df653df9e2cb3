/**
 * Training examples from dataset rows: image captions (asked with one of the caption questions), face
 * names (asked with the face-recognition prompt), and question–answer pairs with or without an image.
 */
import { type Dataset } from '../data/dataset.ts';
import { type ImageCell, type Row } from '../data/schema.ts';
import { CAPTION_QUESTIONS, FACE_PROMPT } from '../models/chat.ts';
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

/** The question an example is asked with in a given epoch. */
export function questionFor(ex: Example, seed: number, epoch: number, index: number): string {
  if (ex.question !== 'caption') return ex.question;
  return Rng.derive(seed, `train-caption/${epoch}/${index}`).pick(CAPTION_QUESTIONS);
}
