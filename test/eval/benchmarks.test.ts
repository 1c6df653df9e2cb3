/** The declarative benchmark definitions: docs/SPEC.md §4's task table, and every aggregate names known tasks. */
import { describe, expect, test } from '@jest/globals';
import { BENCHMARKS, getBenchmark } from '../../benchmarks/index.ts';
import { checkBenchmark, configFor } from '../../src/eval/benchmark.ts';
import { recovery } from '../../src/eval/relearn.ts';
import { UserError } from '../../src/util/errors.ts';

describe('benchmark definitions', () => {
  test.each(Object.keys(BENCHMARKS))('%s is consistent', (name) => {
    expect(() => checkBenchmark(getBenchmark(name))).not.toThrow();
  });

  test('clear: the six image tasks of docs/SPEC.md §4', () => {
    const rows = getBenchmark('clear').tasks.map((t) => [t.id, configFor(t, 'forget05'), t.question, t.groundTruth, t.paraphrase, t.perturbed, t.probability, t.kind, t.dsSize]);
    expect(rows).toEqual([
      ['forget', 'forget05_perturbed', 'random_caption', 'caption', 'paraphrased_caption', 'perturbed_captions', 'plain', 'forget', 300],
      ['retain', 'retain_perturbed', 'random_caption', 'caption', 'paraphrased_caption', 'perturbed_captions', 'plain', 'other', 300],
      ['forget_facerec', 'forget05_perturbed', 'random_faces', 'name', 'name', 'perturbed_names', 'option_normalised', 'forget', 300],
      ['retain_facerec', 'retain_perturbed', 'random_faces', 'name', 'name', 'perturbed_names', 'option_normalised', 'other', 300],
      ['real_faces', 'real_faces', 'random_faces', 'answer', 'answer', 'options', 'option_normalised', 'other', 300],
      ['real_world', 'real_world', 'column', 'answer', 'answer', 'options', 'option_normalised', 'other', 300],
    ]);
    expect(getBenchmark('clear').utilityTasks).toEqual(['real_faces', 'real_world', 'retain', 'retain_facerec']);
  });

  test('unknown benchmark names are a user error listing the known ones', () => {
    expect(() => getBenchmark('mmlu')).toThrow(UserError);
    expect(() => getBenchmark('mmlu')).toThrow(/use one of clear, tofu/);
  });

  test('relearning recovery: share of the gap to certainty won back', () => {
    expect(recovery(0.2, 0.6)).toBeCloseTo(0.5, 15);
    expect(recovery(0.5, 0.25)).toBeCloseTo(-0.5, 15);
    expect(recovery(1, 1)).toBe(0);
  });
});
