export { trainBpe, DEFAULT_VOCAB_SIZE, DEFAULT_MIN_FREQUENCY, type TrainBpeOptions } from './bpe-trainer.ts';
export { Tokenizer, type DecodeOptions } from './tokenizer.ts';
export { SPECIAL_TOKENS, SPECIAL_TOKEN_OF, SPECIAL_IDS, PAD_ID, type SpecialIds, type SpecialRole } from './special-tokens.ts';
export { saveTokenizerJson, serializeTokenizerJson, type BpeTokenizerJson } from './tokenizer-json.ts';
