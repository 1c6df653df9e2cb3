/**
 * The training-throughput benchmark runs both models: the standard LM and a VLM preset on an image
 * batch whose image tokens count as tokens. Speed is the benchmark's business; this checks the set-up.
 */
import { describe, expect, it } from '@jest/globals';
import { benchTrain } from '../../src/bench/train.ts';

describe('benchTrain', () => {
  it('trains the tiny VLM on a 4×24 image batch, counting its 16 image tokens', async () => {
    const r = await benchTrain({ model: 'tiny', batch: 4, seq: 24, steps: 3, warmup: 1, threads: 1 });
    expect(r.model_name).toBe('tiny');
    expect(r.image_tokens).toBe(16);
    expect(r.tokens_per_s).toBeCloseTo((4 * 24) / (r.step_ms / 1000), 6);
    expect(Number.isFinite(r.first_loss) && Number.isFinite(r.last_loss)).toBe(true);
    expect(r.last_loss).toBeLessThan(r.first_loss); // 4 steps of AdamW at 1e-3 on one fixed batch
  });

  it('refuses a sequence with no room for text after the image tokens', async () => {
    await expect(benchTrain({ model: 'tiny', batch: 2, seq: 16, steps: 1, warmup: 0, threads: 1 })).rejects.toThrow(/leaves no text after the 16 image tokens/);
  });
});
