import { describe, test, expect } from '@jest/globals';
import { CAPTION_QUESTIONS, FACE_PROMPT, chooseQuestion, collate, encodeChat, expandImagePlaceholder } from '../../src/models/chat.ts';
import { trainBpe } from '../../src/models/tokenizer/bpe-trainer.ts';
import { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { IGNORE_LABEL } from '../../src/protocol/vocabulary.ts';
import { UserError } from '../../src/util/errors.ts';

const X = IGNORE_LABEL;

/** A stand-in tokenizer whose ids are easy to write by hand: 'a' → 100, 'b' → 101, … */
const letters = {
  special: { pad: 0, eos: 1, user: 2, assistant: 3, image: 4 },
  encode: (text: string) => Array.from(text, (c) => 100 + c.charCodeAt(0) - 97),
};

describe('chooseQuestion', () => {
  test('the caption questions are the 9 of the CLEAR reference code', () => {
    expect(CAPTION_QUESTIONS).toHaveLength(9);
    expect(new Set(CAPTION_QUESTIONS).size).toBe(9);
    expect(CAPTION_QUESTIONS[0]).toBe('What can you see in this picture?');
    expect(FACE_PROMPT).toBe('The name of the person on the image is ');
  });

  test('random_caption is deterministic per (seed, index) and varies across indices and seeds', () => {
    const pick = (seed: number, index: number) => chooseQuestion('random_caption', { seed, index });
    const run = Array.from({ length: 300 }, (_, i) => pick(42, i));
    expect(Array.from({ length: 300 }, (_, i) => pick(42, i))).toEqual(run);
    // Order-independent: asking for index 17 alone gives what it got inside the sweep.
    expect(pick(42, 17)).toBe(run[17]);
    for (const q of run) expect(CAPTION_QUESTIONS).toContain(q);
    // Every question is used, none dominates (300 draws: expected 33 each).
    const counts = CAPTION_QUESTIONS.map((q) => run.filter((r) => r === q).length);
    expect(Math.min(...counts)).toBeGreaterThan(10);
    expect(Math.max(...counts)).toBeLessThan(70);
    // Neighbouring indices do not share a question most of the time.
    expect(run.filter((q, i) => i > 0 && q === run[i - 1]).length).toBeLessThan(100);
    const other = Array.from({ length: 300 }, (_, i) => pick(43, i));
    expect(other.filter((q, i) => q !== run[i]).length).toBeGreaterThan(150);
  });

  test('random_faces is the fixed prompt; column reads the row and rejects a missing question', () => {
    expect(chooseQuestion('random_faces', { seed: 1, index: 5 })).toBe(FACE_PROMPT);
    expect(chooseQuestion('column', { seed: 1, index: 5, row: { question: 'Who wrote it?' } })).toBe('Who wrote it?');
    expect(() => chooseQuestion('column', { seed: 1, index: 5, row: { question: null } })).toThrow(UserError);
    expect(() => chooseQuestion('column', { seed: 1, index: 5, row: { question: null } })).toThrow(/row 5 has no "question"/);
  });
});

describe('encodeChat', () => {
  test('hand-written case: <|user|> <|image|> question <|assistant|> answer <|eos|>', () => {
    const enc = encodeChat(letters, { question: 'ab', answer: 'c', image: true });
    expect(enc.ids).toEqual([2, 4, 100, 101, 3, 102, 1]);
    expect(enc.labels).toEqual([X, X, X, X, X, 102, 1]);
    expect(enc.answerStart).toBe(5);
  });

  test('without an image or an answer', () => {
    expect(encodeChat(letters, { question: 'ab', answer: 'cd', image: false })).toEqual({
      ids: [2, 100, 101, 3, 102, 103, 1],
      labels: [X, X, X, X, 102, 103, 1],
      answerStart: 4,
    });
    expect(encodeChat(letters, { question: 'ab', image: true })).toEqual({ ids: [2, 4, 100, 101, 3], labels: [X, X, X, X, X], answerStart: 5 });
    expect(encodeChat(letters, { question: 'ab', answer: '', image: false }).labels).toEqual([X, X, X, X, 1]);
  });

  test('with a trained tokenizer the labels are exactly the answer tokens and eos', () => {
    const texts = ['The name of the person on the image is Kamiro Telvan.', 'Kamiro Telvan stands by a red door.', 'What is depicted in the image?'];
    const tok = Tokenizer.fromJSON(trainBpe(Array.from({ length: 20 }, (_, i) => texts[i % 3]), { vocabSize: 400 }));
    const answer = 'Kamiro Telvan';
    const enc = encodeChat(tok, { question: FACE_PROMPT, answer, image: true });
    const answerIds = tok.encode(answer);
    expect(enc.ids.slice(enc.answerStart)).toEqual([...answerIds, tok.special.eos]);
    expect(enc.labels.filter((l) => l !== X)).toEqual([...answerIds, tok.special.eos]);
    expect(enc.labels.slice(0, enc.answerStart).every((l) => l === X)).toBe(true);
    expect(tok.decode(enc.ids)).toBe(`<|user|><|image|>${FACE_PROMPT}<|assistant|>${answer}<|eos|>`);
    // The prompt for generation is the training sequence cut at the answer.
    expect(encodeChat(tok, { question: FACE_PROMPT, image: true }).ids).toEqual(enc.ids.slice(0, enc.answerStart));
    // Special-token text inside the data would move the labels: refused.
    expect(() => encodeChat(tok, { question: 'Who?', answer: 'Kamiro<|eos|> Telvan', image: false })).toThrow(UserError);
    expect(() => encodeChat(tok, { question: 'Who <|assistant|>?', image: false })).toThrow(/question "Who <\|assistant\|>\?" contains the text of the assistant special token/);
  });
});

describe('expandImagePlaceholder', () => {
  test('repeats the placeholder, labels the image slots ignored and shifts the answer labels', () => {
    const enc = encodeChat(letters, { question: 'ab', answer: 'c', image: true }); // ids [2,4,100,101,3,102,1]
    const out = expandImagePlaceholder(enc.ids, enc.labels, 3);
    expect(out.ids).toEqual([2, 4, 4, 4, 100, 101, 3, 102, 1]);
    expect(out.labels).toEqual([X, X, X, X, X, X, X, 102, 1]);
    expect(out.imagePositions).toEqual([1, 2, 3]);
    // The answer moved by nImageTokens − 1 = 2 positions.
    expect(out.labels.indexOf(102)).toBe(enc.answerStart + 2);
  });

  test('a sequence without an image is returned unchanged; two images are refused', () => {
    const enc = encodeChat(letters, { question: 'ab', answer: 'c', image: false });
    expect(expandImagePlaceholder(enc.ids, enc.labels, 16)).toEqual({ ids: enc.ids, labels: enc.labels, imagePositions: [] });
    expect(() => expandImagePlaceholder([2, 4, 4, 3], [X, X, X, X], 2)).toThrow(/more than one image/);
    expect(() => expandImagePlaceholder([2, 4, 3], [X, X, X], 0)).toThrow(/positive integer/);
  });
});

describe('collate', () => {
  const samples = [
    { ids: [5, 6, 7], labels: [X, 6, 7] },
    { ids: [8], labels: [8] },
  ];
  const plain = (b: ReturnType<typeof collate>) => ({
    inputIds: Array.from(b.inputIds, Number),
    labels: Array.from(b.labels, Number),
    attentionMask: Array.from(b.attentionMask),
    positionIds: Array.from(b.positionIds, Number),
    lengths: b.lengths,
    B: b.B,
    T: b.T,
  });

  test('right padding (training)', () => {
    expect(plain(collate(samples, { padSide: 'right' }))).toEqual({
      inputIds: [5, 6, 7, 8, 0, 0],
      labels: [X, 6, 7, 8, X, X],
      attentionMask: [1, 1, 1, 1, 0, 0],
      positionIds: [0, 1, 2, 0, 0, 0],
      lengths: [3, 1],
      B: 2,
      T: 3,
    });
  });

  test('left padding (batched generation) keeps positions starting at 0 on real tokens', () => {
    expect(plain(collate(samples, { padSide: 'left' }))).toEqual({
      inputIds: [5, 6, 7, 0, 0, 8],
      labels: [X, 6, 7, X, X, 8],
      attentionMask: [1, 1, 1, 0, 0, 1],
      positionIds: [0, 1, 2, 0, 0, 0],
      lengths: [3, 1],
      B: 2,
      T: 3,
    });
  });

  test('padTo fixes the width; missing labels are ignored; a too-long sample is a clear error', () => {
    const b = plain(collate([{ ids: [5, 6] }], { padSide: 'right', padTo: 4 }));
    expect(b.inputIds).toEqual([5, 6, 0, 0]);
    expect(b.labels).toEqual([X, X, X, X]);
    expect(b.T).toBe(4);
    expect(() => collate(samples, { padSide: 'right', padTo: 2 })).toThrow(UserError);
    expect(() => collate(samples, { padSide: 'right', padTo: 2 })).toThrow(/sample 0 has 3 tokens, more than the sequence length 2/);
    expect(() => collate([{ ids: [1, 2], labels: [1] }], { padSide: 'right' })).toThrow(/differ in length/);
  });
});
