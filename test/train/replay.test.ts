/**
 * Replay sampling of the target/gold recipes: each epoch trains on every new example plus a fresh,
 * seeded sample of the pretraining examples, as many images and texts every epoch.
 */
import { describe, expect, it } from '@jest/globals';
import { batchesPerEpoch, epochExamples } from '../../src/train/loop.ts';

// 30 replayed examples (12 with an image, 18 text-only), then 10 new ones (4 with an image).
const img = { image: {} as never };
const txt = { image: null };
const examples = [
  ...Array.from({ length: 30 }, (_, i) => (i % 5 < 2 ? img : txt)),
  ...Array.from({ length: 10 }, (_, i) => (i < 4 ? img : txt)),
];
const replay = { count: 30, fraction: 0.25 };

describe('epochExamples', () => {
  it('keeps every new example and samples round(fraction × n) replayed images and texts', () => {
    const idx = epochExamples(examples, replay, 0, 0);
    for (let i = 30; i < 40; i++) expect(idx).toContain(i);
    const old = idx.filter((i) => i < 30);
    expect(old.filter((i) => examples[i].image !== null)).toHaveLength(3); // round(12 · 0.25)
    expect(old.filter((i) => examples[i].image === null)).toHaveLength(5); // round(18 · 0.25) = round(4.5)
    expect(new Set(idx).size).toBe(idx.length);
  });

  it('draws a different sample each epoch, the same one for the same seed and epoch', () => {
    const a = epochExamples(examples, replay, 0, 0);
    expect(epochExamples(examples, replay, 0, 0)).toEqual(a);
    const samples = [1, 2, 3, 4].map((e) => epochExamples(examples, replay, 0, e).join(','));
    expect(new Set([a.join(','), ...samples]).size).toBeGreaterThan(1);
    expect(epochExamples(examples, replay, 1, 0)).not.toEqual(a);
  });

  it('uses every example without replay or at fraction 1', () => {
    const all = examples.map((_, i) => i);
    expect(epochExamples(examples, undefined, 0, 3)).toEqual(all);
    expect(epochExamples(examples, { count: 30, fraction: 1 }, 0, 3)).toEqual(all);
  });

  it('rejects a fraction outside (0, 1]', () => {
    expect(() => epochExamples(examples, { count: 30, fraction: 0 }, 0, 0)).toThrow(/replay fraction must be in \(0, 1\]/);
  });

  it('counts the batches of a replay epoch', () => {
    // images: 3 replayed + 4 new = 7 → 2 batches of 4; texts: 5 + 6 = 11 → 3 batches.
    expect(batchesPerEpoch(examples, 4, replay)).toBe(5);
    // without replay: 16 images → 4, 24 texts → 6
    expect(batchesPerEpoch(examples, 4)).toBe(10);
  });
});
