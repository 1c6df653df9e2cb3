/**
 * Several draws per forget sample for a paired stream (LLMU's K random retain answers, SKU's K other forget
 * persons' answers): K rows per forget sample next to each other, distinct, of the forget sample's modality,
 * the first the single draw of K = 1, and no stream's draws depending on another's count.
 */
import { describe, expect, test } from '@jest/globals';
import { stepSamples } from '../../src/methods/streams.ts';
import { type Example } from '../../src/train/examples.ts';

const ex = (answer: string, person: string, image = false): Example => ({ question: image ? 'caption' : `about ${person}?`, answer, image: image ? ({ path: `${answer}.png` } as unknown as Example['image']) : null, person });
const forget = [ex('f0', 'A'), ex('f1', 'B'), ex('f2', 'C'), ex('f3', 'D'), ex('fi0', 'A', true)];
const retain = [...Array.from({ length: 9 }, (_, i) => ex(`r${i}`, `R${i}`)), ex('ri0', 'R0', true), ex('ri1', 'R1', true)];

describe('draws per forget sample', () => {
  test('K = 3 retain answers: 3 rows per forget sample with its question, distinct, first = the K = 1 draw', () => {
    const one = stepSamples([0, 1, 2], forget, retain, ['forget', 'retain_answer'], 5, 1);
    const three = stepSamples([0, 1, 2], forget, retain, ['forget', 'retain_answer'], 5, 1, { retain_answer: 3 });
    expect(three.forget).toEqual(one.forget);
    expect(three.retain_answer!.length).toBe(9);
    for (let b = 0; b < 3; b++) {
      const rows = three.retain_answer!.slice(3 * b, 3 * b + 3);
      expect(rows.every((r) => r.question === one.forget![b].question && r.image === null)).toBe(true);
      expect(new Set(rows.map((r) => r.answer)).size).toBe(3);
      expect(rows.every((r) => retain.some((e) => e.answer === r.answer && e.image === null))).toBe(true);
      expect(rows[0]).toEqual(one.retain_answer![b]);
    }
  });

  test('the pool caps distinctness: an image forget sample with 2 image retain samples and K = 3 repeats one', () => {
    const s = stepSamples([4], forget, retain, ['retain_answer'], 5, 0, { retain_answer: 3 });
    expect(s.retain_answer!.map((r) => r.answer).sort().filter((a, i, xs) => xs.indexOf(a) === i)).toEqual(['ri0', 'ri1']);
    expect(s.retain_answer!.length).toBe(3);
  });

  test('K other forget persons\' answers, never the sample\'s own person; counts of one stream leave the other alone', () => {
    const s = stepSamples([0, 1], forget, retain, ['retain_answer', 'forget_other'], 2, 0, { forget_other: 3 });
    const alone = stepSamples([0, 1], forget, retain, ['retain_answer', 'forget_other'], 2, 0, { forget_other: 3, retain_answer: 4 });
    expect(alone.forget_other).toEqual(s.forget_other);
    expect(s.forget_other!.length).toBe(6);
    for (let b = 0; b < 2; b++) {
      const rows = s.forget_other!.slice(3 * b, 3 * b + 3).map((r) => r.answer);
      expect(new Set(rows).size).toBe(3);
      expect(rows).not.toContain(forget[b].answer);
      expect(rows.every((a) => forget.some((e) => e.answer === a && e.image === null))).toBe(true);
    }
  });
});
