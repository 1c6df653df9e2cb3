/**
 * The chat format of docs/SPEC.md §3: `<|user|> [<|image|>] question <|assistant|> answer <|eos|>`,
 * labels on the answer tokens and the closing `<|eos|>` only, the question strategies of the
 * evaluation tasks, image-placeholder expansion and padded batching.
 */
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { IGNORE_LABEL } from '../protocol/vocabulary.ts';
import { PAD_ID, SPECIAL_IDS } from './tokenizer/special-tokens.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

/** The 9 fixed "describe the image" questions of the CLEAR reference code, in its order. */
export const CAPTION_QUESTIONS: readonly string[] = [
  'What can you see in this picture?',
  'Tell me about the content of this image',
  'Can you give a description of the image?',
  'What is depicted in the image?',
  'Explain what you observe in the picture.',
  'Describe the image in detail.',
  'What is the main subject of this image?',
  'Can you describe the scene or objects in the image?',
  'What is happening in this image?',
];

/** The face-recognition prompt; the answer (the name) continues it directly. */
export const FACE_PROMPT = 'The name of the person on the image is ';

export type QuestionStrategy = 'random_caption' | 'random_faces' | 'column';

export interface QuestionContext {
  seed: number;
  /** The sample's index in its dataset: the caption question depends on (seed, index) only. */
  index: number;
  /** The dataset row; `column` reads its `question`. */
  row?: { question?: string | null };
}

/** The question for one sample under a strategy; deterministic per (seed, index). */
export function chooseQuestion(strategy: QuestionStrategy, { seed, index, row }: QuestionContext): string {
  switch (strategy) {
    case 'random_caption':
      // A stream per sample index, so the choice does not depend on iteration order or batching.
      return Rng.derive(seed, `random_caption/${index}`).pick(CAPTION_QUESTIONS);
    case 'random_faces':
      return FACE_PROMPT;
    case 'column': {
      const question = row?.question;
      if (typeof question !== 'string' || question.length === 0) {
        throw new UserError(`row ${index} has no "question" value, which the column question strategy needs; use a config with a question column or another strategy`);
      }
      return question;
    }
    default:
      throw new UserError(`unknown question strategy "${String(strategy)}"; use random_caption, random_faces or column`);
  }
}

export interface ChatTurn {
  question: string;
  /** Omit for a generation prompt (ends with `<|assistant|>`). */
  answer?: string;
  /** Put the `<|image|>` placeholder before the question. */
  image: boolean;
}

export interface EncodedChat {
  ids: number[];
  /** Same length as ids; IGNORE_LABEL except on the answer tokens and the final `<|eos|>`. */
  labels: number[];
  /** Index of the first answer token (= the prompt's length). */
  answerStart: number;
}

type ChatTokenizer = Pick<Tokenizer, 'encode' | 'special'>;

/**
 * Encode one turn. Prompt and answer are tokenized separately and concatenated, so the answer
 * tokens are exactly `tok.encode(answer)` whatever the question ends with.
 */
export function encodeChat(tok: ChatTokenizer, { question, answer, image }: ChatTurn): EncodedChat {
  const s = tok.special;
  const prompt = [s.user, ...(image ? [s.image] : []), ...encodePlain(tok, question, 'question'), s.assistant];
  if (answer === undefined) return { ids: prompt, labels: prompt.map(() => IGNORE_LABEL), answerStart: prompt.length };
  const target = [...encodePlain(tok, answer, 'answer'), s.eos];
  return {
    ids: [...prompt, ...target],
    labels: [...prompt.map(() => IGNORE_LABEL), ...target],
    answerStart: prompt.length,
  };
}

/**
 * The tokenizer turns special-token strings inside text into the special tokens; in data that
 * would silently move the turn markers or the labelled eos, so it is refused.
 */
function encodePlain(tok: ChatTokenizer, text: string, what: string): number[] {
  const ids = tok.encode(text);
  const specials = new Set(Object.values(tok.special));
  const bad = ids.find((id) => specials.has(id));
  if (bad !== undefined) {
    const name = Object.entries(tok.special).find(([, id]) => id === bad)![0];
    throw new UserError(`the ${what} ${JSON.stringify(text.slice(0, 60))} contains the text of the ${name} special token; remove it from the data`);
  }
  return ids;
}

export interface ExpandedChat {
  /** The placeholder repeated nImageTokens times, so the model can find the slots by id. */
  ids: number[];
  /** Image slots are labelled IGNORE_LABEL; everything else keeps its label, shifted. */
  labels: number[];
  /** Indices of the image-token slots in the expanded sequence (consecutive), or [] without an image. */
  imagePositions: number[];
}

/**
 * Replace the single `<|image|>` placeholder (id `imageId`) by `nImageTokens` slots for the image
 * encoder's outputs; later labels shift right by nImageTokens − 1.
 */
export function expandImagePlaceholder(ids: readonly number[], labels: readonly number[], nImageTokens: number, imageId = SPECIAL_IDS.image): ExpandedChat {
  if (ids.length !== labels.length) throw new Error(`ids (${ids.length}) and labels (${labels.length}) differ in length`);
  if (!Number.isInteger(nImageTokens) || nImageTokens < 1) throw new Error(`nImageTokens must be a positive integer, got ${nImageTokens}`);
  const at = ids.indexOf(imageId);
  if (at < 0) return { ids: [...ids], labels: [...labels], imagePositions: [] };
  if (ids.indexOf(imageId, at + 1) >= 0) throw new Error('more than one image placeholder in a sequence');
  const imagePositions = Array.from({ length: nImageTokens }, (_, k) => at + k);
  return {
    ids: [...ids.slice(0, at), ...imagePositions.map(() => imageId), ...ids.slice(at + 1)],
    labels: [...labels.slice(0, at), ...imagePositions.map(() => IGNORE_LABEL), ...labels.slice(at + 1)],
    imagePositions,
  };
}

export interface CollateSample {
  ids: readonly number[];
  /** Defaults to all IGNORE_LABEL (generation prompts). */
  labels?: readonly number[];
}

export interface CollateOptions {
  /** 'right' for training, 'left' for batched generation (every prompt ends at the last column). */
  padSide: 'right' | 'left';
  /** Pad every row to this length (a fixed shape); longer samples are an error. */
  padTo?: number;
  /** Defaults to PAD_ID (0, `<|pad|>`). */
  padId?: number;
}

export interface Batch {
  B: number;
  T: number;
  /** [B, T] row-major. */
  inputIds: BigInt64Array;
  /** [B, T]; IGNORE_LABEL at padding. */
  labels: BigInt64Array;
  /** [B, T]; 1 on real tokens, 0 on padding. */
  attentionMask: Float32Array;
  /** [B, T]; 0.. along each row's real tokens (so left padding does not shift positions), 0 on padding. */
  positionIds: BigInt64Array;
  /** Real length of each row. */
  lengths: number[];
}

/** Pad samples into one batch. */
export function collate(samples: readonly CollateSample[], { padSide, padTo, padId = PAD_ID }: CollateOptions): Batch {
  if (samples.length === 0) throw new Error('collate needs at least one sample');
  const lengths = samples.map((s, i) => {
    if (s.ids.length === 0) throw new Error(`sample ${i} is empty`);
    if (s.labels && s.labels.length !== s.ids.length) throw new Error(`sample ${i}: ids (${s.ids.length}) and labels (${s.labels.length}) differ in length`);
    return s.ids.length;
  });
  const longest = Math.max(...lengths);
  if (padTo !== undefined && longest > padTo) {
    const i = lengths.indexOf(longest);
    throw new UserError(`sample ${i} has ${longest} tokens, more than the sequence length ${padTo}; raise the maximum sequence length or shorten the texts`);
  }
  const B = samples.length;
  const T = padTo ?? longest;
  const inputIds = new BigInt64Array(B * T).fill(BigInt(padId));
  const labels = new BigInt64Array(B * T).fill(BigInt(IGNORE_LABEL));
  const attentionMask = new Float32Array(B * T);
  const positionIds = new BigInt64Array(B * T);
  samples.forEach((s, b) => {
    const offset = b * T + (padSide === 'left' ? T - lengths[b] : 0);
    for (let t = 0; t < lengths[b]; t++) {
      inputIds[offset + t] = BigInt(s.ids[t]);
      if (s.labels) labels[offset + t] = BigInt(s.labels[t]);
      attentionMask[offset + t] = 1;
      positionIds[offset + t] = BigInt(t);
    }
  });
  return { B, T, inputIds, labels, attentionMask, positionIds, lengths };
}
