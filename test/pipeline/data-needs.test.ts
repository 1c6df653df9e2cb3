/**
 * Which configs a plan reads (data-needs.ts), against hand-derived lists: the recipes' persons, the forget
 * persons only in the repositories the unlearning modalities need, every benchmark task's config, the base's
 * data (pretrain or the emulated-pretraining configs) and the held-out configs as optional.
 */
import { describe, expect, test } from '@jest/globals';
import { dataNeeds } from '../../src/pipeline/data-needs.ts';

describe('dataNeeds', () => {
  test('text-only unlearning on two splits, image benchmark only, emulated base', () => {
    const n = dataNeeds({ splits: ['forget01', 'forget10'], benchmarks: ['clear'], modalities: ['text'], tofu: true, base: 'emulated' });
    expect(n.clear).toEqual({
      // no forgetNN images: no method unlearns with them
      required: ['forget01_perturbed', 'forget10_perturbed', 'full', 'real_faces', 'real_world', 'retain90', 'retain99', 'retain_perturbed'],
      optional: ['holdout_perturbed'],
    });
    expect(n.tofu).toEqual({ required: ['forget01', 'forget10', 'full', 'real_authors', 'retain90', 'retain99', 'world_facts'], optional: [] });
  });

  test('vision unlearning without a TOFU companion, the dataset\'s own pretrain', () => {
    const n = dataNeeds({ splits: ['forget05'], benchmarks: ['clear'], modalities: ['vision'], tofu: false, base: 'pretrain' });
    expect(n.clear.required).toEqual(['forget05', 'forget05_perturbed', 'full', 'pretrain', 'real_faces', 'real_world', 'retain95', 'retain_perturbed']);
    expect(n.tofu).toBeNull();
  });

  test('the text benchmark adds its tasks and TOFU\'s holdoutNN of each split as optional', () => {
    const n = dataNeeds({ splits: ['forget05'], benchmarks: ['tofu'], modalities: ['joint'], tofu: true, base: 'pretrain' });
    expect(n.tofu).toEqual({
      required: ['forget05', 'forget05_perturbed', 'full', 'real_authors_perturbed', 'retain95', 'retain_perturbed', 'world_facts_perturbed'],
      optional: ['holdout05', 'holdout_perturbed'],
    });
    expect(n.clear).toEqual({ required: ['forget05', 'full', 'pretrain', 'real_faces', 'retain95'], optional: [] });
  });
});
