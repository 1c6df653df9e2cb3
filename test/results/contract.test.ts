/**
 * The results contract's readers (src/results/contract.ts) on the report fixtures: a summary.json is read
 * back whole (every key evaluate writes, nothing the writer does not), the protocol's words are checked
 * against protocol/vocabulary.ts, and a wrong key names the file and its dotted path.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEvalSummary, readModelMeta } from '../../src/results/contract.ts';
import { evalDir, metaPath, modelDir, summaryPath } from '../../src/results/layout.ts';
import { UserError } from '../../src/util/errors.ts';

const RUN = join(dirname(fileURLToPath(import.meta.url)), '..', 'report', 'fixtures', 'run-a');
const NPO = modelDir(RUN, 'npo-lr1e-5-s1');
const NPO_SUMMARY = summaryPath(evalDir(NPO, 'clear', 'forget10'));
const scratch = mkdtempSync(join(tmpdir(), 'clearbench-contract-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The fixture file, edited, written to a scratch file whose path is returned. */
function edited(file: string, edit: (o: Record<string, any>) => void): string {
  const o = JSON.parse(readFileSync(file, 'utf8'));
  edit(o);
  const out = join(scratch, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(out, JSON.stringify(o));
  return out;
}

function userError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('readEvalSummary', () => {
  test('returns the whole file: every section, the provenance keys, and no timing', () => {
    const raw = JSON.parse(readFileSync(NPO_SUMMARY, 'utf8'));
    const s = readEvalSummary(NPO_SUMMARY);
    // Written before paper.forget_clear_code and privacy_reason existed, they read as null; everything else as written.
    expect(s).toEqual({ ...raw, paper: { ...raw.paper, forget_clear_code: null }, privacy_reason: null });
    expect(s.data!.base_data).toBe('pretrain');
    expect(s).not.toHaveProperty('timing');
    expect(s.relearn!.tasks.forget.after.prob).toBe(0.455);
    expect(s.privacy!.privleak_by_attack!.min_k).toBe(s.privacy!.privleak);
  });

  test('optional sections absent read as null', () => {
    const file = edited(NPO_SUMMARY, (o) => { delete o.privacy; delete o.extraction; delete o.relearn; });
    const s = readEvalSummary(file);
    expect([s.privacy, s.extraction, s.relearn]).toEqual([null, null, null]);
  });

  test('a forget split outside the protocol names the key and the allowed splits', () => {
    const file = edited(NPO_SUMMARY, (o) => { o.forget_split = 'forget20'; });
    expect(userError(() => readEvalSummary(file))).toBe(
      `${file}: key "forget_split" must be one of forget01, forget05, forget10 (found the string "forget20"); re-run the step that wrote it, or fix the file`,
    );
  });

  test('an unknown truth-ratio form, a missing seed, a bad nested relearn value', () => {
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { o.truth_ratio_compat = 'paper'; }))))
      .toContain('key "truth_ratio_compat" must be one of tofu, clear-code');
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { delete o.seed; }))))
      .toContain('key "seed" must be a number (it is missing)');
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { o.relearn.tasks.forget.after.truth_ratio = 'x'; }))))
      .toContain('key "relearn.tasks.forget.after.truth_ratio" must be a number');
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { o.max_new_tokens.forget = null; }))))
      .toContain('key "max_new_tokens.forget" must be a number');
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { delete o.privacy.mia_auc.min_k_pp; }))))
      .toContain('key "privacy.mia_auc.min_k_pp" must be a number (it is missing)');
  });
});

describe('data provenance', () => {
  const provenance = {
    source: 'hub', base_data: 'emulated', synthetic: null,
    clear: { repo: 'therem/CLEAR', revision: 'main', commit: 'a'.repeat(40), configs: ['full', 'real_faces'] },
    tofu: null,
  };

  test("a summary's data section reads back as written; a bad one names its key", () => {
    const s = readEvalSummary(edited(NPO_SUMMARY, (o) => { o.data = provenance; o.privacy_reason = 'no held-out persons in this dataset'; }));
    expect(s.data).toEqual(provenance);
    expect(s.privacy_reason).toBe('no held-out persons in this dataset');
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { o.data = { ...provenance, base_data: 'pretrained' }; }))))
      .toContain('key "data.base_data" must be one of pretrain, emulated');
    expect(userError(() => readEvalSummary(edited(NPO_SUMMARY, (o) => { o.data = { ...provenance, clear: { ...provenance.clear, configs: 'full' } }; }))))
      .toContain('key "data.clear.configs" must be a list of config names');
  });
});

describe('readModelMeta', () => {
  test('reads the fixture', () => {
    expect(readModelMeta(metaPath(NPO))).toMatchObject({ role: 'unlearned', forget_split: 'forget10', modality: 'joint' });
  });

  test('role, forget split and modality come from the protocol vocabulary', () => {
    expect(userError(() => readModelMeta(edited(metaPath(NPO), (o) => { o.role = 'teacher'; }))))
      .toContain('key "role" must be one of base, target, gold, unlearned (found the string "teacher")');
    expect(userError(() => readModelMeta(edited(metaPath(NPO), (o) => { o.modality = 'audio'; }))))
      .toContain('key "modality" must be one of text, vision, joint (found the string "audio")');
    expect(userError(() => readModelMeta(edited(metaPath(NPO), (o) => { o.forget_split = 'retain90'; }))))
      .toContain('key "forget_split" must be one of forget01, forget05, forget10');
    expect(readModelMeta(edited(metaPath(NPO), (o) => { o.forget_split = null; o.modality = null; }))).toMatchObject({ forget_split: null, modality: null });
  });
});
