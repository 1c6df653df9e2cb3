/**
 * The chat-format special tokens. Their ids are fixed (0..4, in this order) so that a
 * checkpoint's embedding rows keep their meaning whatever corpus the BPE was trained on.
 */
export const SPECIAL_TOKENS = ['<|pad|>', '<|eos|>', '<|user|>', '<|assistant|>', '<|image|>'] as const;

export type SpecialRole = 'pad' | 'eos' | 'user' | 'assistant' | 'image';

/** Token string of each role, in id order. */
export const SPECIAL_TOKEN_OF: Readonly<Record<SpecialRole, string>> = {
  pad: SPECIAL_TOKENS[0],
  eos: SPECIAL_TOKENS[1],
  user: SPECIAL_TOKENS[2],
  assistant: SPECIAL_TOKENS[3],
  image: SPECIAL_TOKENS[4],
};

/** Ids of the special tokens in a loaded tokenizer. */
export type SpecialIds = Readonly<Record<SpecialRole, number>>;

/** Ids of the specials in every tokenizer we train (their position in SPECIAL_TOKENS). */
export const SPECIAL_IDS: SpecialIds = { pad: 0, eos: 1, user: 2, assistant: 3, image: 4 };

/** Padding id used by collation. */
export const PAD_ID = SPECIAL_IDS.pad;
