/**
 * `evaluate()` end to end on a tiny trained VLM and a tiny synthetic dataset: the files of the results
 * contract with every field in range, task values recomputed by hand from the stored per-sample losses,
 * gold against itself (forget quality exactly 1 and 1, privleak 0), and byte-identical files when the
 * same checkpoint is evaluated twice.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getBenchmark } from '../../benchmarks/index.ts';
import { type EvalTiming, evaluate } from '../../src/eval/evaluate.ts';
import { type SampleRecord } from '../../src/eval/task-metrics.ts';
import { type MiaRecord } from '../../src/eval/privacy.ts';
import { CAPTION_QUESTIONS, FACE_PROMPT, chooseQuestion } from '../../src/models/chat.ts';
import { readEvalSummary } from '../../src/results/contract.ts';
import { UserError } from '../../src/util/errors.ts';
import { type EvalFixture, cleanup, evalFixture } from './fixture.ts';

const CLEAR_TASKS = ['forget', 'retain', 'forget_facerec', 'retain_facerec', 'real_faces', 'real_world'];
const MAX_NEW = 8;

let fx: EvalFixture;
let timingA: EvalTiming;
const dir = (name: string) => join(fx.root, 'eval', name);
const samples = (d: string, task: string): SampleRecord[] => JSON.parse(readFileSync(join(d, `${task}.samples.json`), 'utf8'));
const summaryOf = (d: string) => JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8'));
const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;

beforeAll(async () => {
  fx = await evalFixture('eval');
  // A: the model alone. B and C: the same model with A as its gold and a short relearning attack, twice.
  ({ timing: timingA } = await evaluate({ model: fx.model, modelName: 'tiny', dataDir: fx.dataDir, benchmark: getBenchmark('clear'), outDir: dir('a'), maxNewTokens: MAX_NEW, threads: 1 }));
  for (const name of ['b', 'c']) {
    await evaluate({ model: fx.model, modelName: 'tiny', dataDir: fx.dataDir, benchmark: getBenchmark('clear'), outDir: dir(name), maxNewTokens: MAX_NEW, threads: 1, gold: dir('a'), relearn: 2 });
  }
}, 120_000);

afterAll(() => cleanup(fx));

describe('evaluate on the clear benchmark', () => {
  test('writes every task file, the membership scores and a summary the report layer accepts', () => {
    const files = readdirSync(dir('a')).sort();
    expect(files).toEqual([...CLEAR_TASKS.map((t) => `${t}.samples.json`), 'mia.samples.json', 'summary.json'].sort());
    const s = readEvalSummary(join(dir('a'), 'summary.json'));
    expect(s.benchmark).toBe('clear');
    expect(s.forget_split).toBe('forget10');
    // One summary type: what evaluate writes is what the contract's reader returns, key for key.
    for (const d of ['a', 'b']) expect(readEvalSummary(join(dir(d), 'summary.json'))).toEqual(summaryOf(dir(d)));
    expect(s.model).toBe('tiny');
    expect(Object.keys(s.tasks)).toEqual(CLEAR_TASKS);
    for (const t of CLEAR_TASKS) {
      const task = s.tasks[t];
      expect(task.n).toBe(samples(dir('a'), t).length);
      for (const v of [task.prob, task.rougeL_recall, task.truth_ratio]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    for (const v of [s.model_utility, s.paper.real, s.paper.retain, s.paper.forget]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(s.forget_quality_ks).toBeNull();
    expect(s.forget_quality_js).toBeNull();
    expect(s.paper.forget_quality).toBeNull();
    expect(s.privacy!.privleak).toBeNull();
    for (const auc of Object.values(s.privacy!.mia_auc!)) {
      expect(auc).toBeGreaterThanOrEqual(0);
      expect(auc).toBeLessThanOrEqual(1);
    }
    expect(s.extraction!.extraction_strength).toBeGreaterThanOrEqual(0);
    expect(s.extraction!.exact_memorization).toBeLessThanOrEqual(1);
    expect(s.relearn).toBeNull();
    // Wall-clock time is returned, not written, so the files stay reproducible.
    expect(summaryOf(dir('a'))).not.toHaveProperty('timing');
    expect(s).not.toHaveProperty('timing');
    expect(timingA.scoring_s).toBeGreaterThan(0);
    expect(timingA.generation_s).toBeGreaterThan(0);
  });

  test('every per-sample record has every field, in range, with the task’s prompt', () => {
    for (const t of CLEAR_TASKS) {
      const recs = samples(dir('a'), t);
      expect(recs.length).toBeGreaterThan(0);
      recs.forEach((r, i) => {
        expect(r.index).toBe(i);
        expect(typeof r.ground_truth).toBe('string');
        // May be empty: a model may end its answer at once.
        expect(typeof r.generation).toBe('string');
        for (const l of [r.gt_loss, r.para_loss, ...r.pert_losses]) {
          expect(Number.isFinite(l)).toBe(true);
          expect(l).toBeGreaterThan(0);
        }
        expect(r.pert_losses.length).toBeGreaterThan(0);
        expect(r.truth_ratio).toBeGreaterThan(0);
        for (const v of [r.prob, r.rougeL_recall, r.extraction_strength, r.exact_memorization]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
        if (t === 'forget' || t === 'retain') {
          expect(CAPTION_QUESTIONS).toContain(r.prompt);
          expect(r.prompt).toBe(chooseQuestion('random_caption', { seed: 0, index: r.index }));
          expect(r.para_loss).not.toBe(r.gt_loss);
        } else if (t !== 'real_world') {
          expect(r.prompt).toBe(FACE_PROMPT);
          // The paraphrase key is the ground truth's: its loss is the ground truth's loss.
          expect(r.para_loss).toBe(r.gt_loss);
        }
      });
    }
    // The caption questions are seeded per sample, not one question for all.
    expect(new Set(samples(dir('a'), 'retain').map((r) => r.prompt)).size).toBeGreaterThan(1);
  });

  test('task values recomputed by hand from the stored losses', () => {
    const s = summaryOf(dir('a'));
    // Option-normalised probability of one Real Faces sample: P̄(gt) / (P̄(gt) + Σ_j P̄(pert_j)), P̄ = exp(−L̄).
    const rf = samples(dir('a'), 'real_faces');
    const handProb = (r: SampleRecord) => Math.exp(-r.gt_loss) / (Math.exp(-r.gt_loss) + r.pert_losses.reduce((a, l) => a + Math.exp(-l), 0));
    expect(rf[0].prob).toBeCloseTo(handProb(rf[0]), 12);
    expect(s.tasks.real_faces.prob).toBeCloseTo(mean(rf.map(handProb)), 12);
    // Caption task: plain mean of P̄(gt); forget truth ratio: mean min(R, 1/R), R = exp(mean_j L̄(pert) − L̄(para)).
    const fg = samples(dir('a'), 'forget');
    const R = (r: SampleRecord) => Math.exp(mean(r.pert_losses) - r.para_loss);
    fg.forEach((r) => expect(r.truth_ratio).toBeCloseTo(R(r), 12));
    expect(s.tasks.forget.prob).toBeCloseTo(mean(fg.map((r) => Math.exp(-r.gt_loss))), 12);
    expect(s.tasks.forget.truth_ratio).toBeCloseTo(mean(fg.map((r) => Math.min(R(r), 1 / R(r)))), 12);
    expect(s.tasks.forget.rougeL_recall).toBeCloseTo(mean(fg.map((r) => r.rougeL_recall)), 12);
    // Any other task: mean max(0, 1 − 1/R).
    const rt = samples(dir('a'), 'retain');
    expect(s.tasks.retain.truth_ratio).toBeCloseTo(mean(rt.map((r) => Math.max(0, 1 - 1 / R(r)))), 12);
    // Model utility: harmonic mean of the 12 values; the paper's Real column: of 4.
    const values = ['real_faces', 'real_world', 'retain', 'retain_facerec'].flatMap((t) => [s.tasks[t].prob, s.tasks[t].rougeL_recall, s.tasks[t].truth_ratio]);
    const hm = (vs: number[]) => (vs.some((v) => v === 0) ? 0 : vs.length / vs.reduce((a, v) => a + 1 / v, 0));
    expect(s.model_utility).toBeCloseTo(hm(values), 12);
    expect(s.paper.real).toBeCloseTo(hm(['real_faces', 'real_world'].flatMap((t) => [s.tasks[t].prob, s.tasks[t].truth_ratio])), 12);
    // Forget: H(prob, TR⁺) with TR⁺ = mean max(0, 1 − 1/R) from the forget tasks' stored R_i; the CLEAR
    // code's value keeps the tasks' reported mean min(R, 1/R).
    const trPlus = (t: string) => mean(samples(dir('a'), t).map((r) => Math.max(0, 1 - 1 / r.truth_ratio)));
    expect(s.paper.forget).toBeCloseTo(hm(['forget', 'forget_facerec'].flatMap((t) => [s.tasks[t].prob, trPlus(t)])), 12);
    expect(s.paper.forget_clear_code).toBeCloseTo(hm(['forget', 'forget_facerec'].flatMap((t) => [s.tasks[t].prob, s.tasks[t].truth_ratio])), 12);
    // Extraction numbers are the forget task's per-sample means.
    expect(s.extraction.extraction_strength).toBeCloseTo(mean(fg.map((r) => r.extraction_strength)), 12);
  });

  test('membership-inference AUC equals a pair count over the stored scores', () => {
    const mia: MiaRecord[] = JSON.parse(readFileSync(join(dir('a'), 'mia.samples.json'), 'utf8'));
    const forget = mia.filter((r) => r.set === 'forget');
    const holdout = mia.filter((r) => r.set === 'holdout');
    expect(forget.map((r) => r.loss)).toEqual(samples(dir('a'), 'forget').map((r) => expect.closeTo(r.gt_loss, 5) as unknown as number));
    expect(holdout.length).toBeGreaterThan(0);
    // AUC = P(a forget sample has the lower loss) + ½ P(tie), over all (forget, holdout) pairs.
    let wins = 0;
    for (const f of forget) for (const h of holdout) wins += f.loss < h.loss ? 1 : f.loss === h.loss ? 0.5 : 0;
    expect(summaryOf(dir('a')).privacy.mia_auc.loss).toBeCloseTo(wins / (forget.length * holdout.length), 12);
  });

  test('gold against itself: forget quality exactly 1 (KS) and 1 (JS), privleak 0 where defined', () => {
    const s = summaryOf(dir('b'));
    expect(s.forget_quality_ks).toBe(1);
    expect(s.forget_quality_js).toBe(1);
    expect(s.paper.forget_quality).toBe(1);
    // privleak divides by 1 − AUC_gold: undefined (null) when gold separates the sets perfectly.
    const goldAuc = summaryOf(dir('a')).privacy.mia_auc;
    for (const a of ['loss', 'zlib', 'min_k', 'min_k_pp']) expect(s.privacy.privleak_by_attack[a]).toBe(goldAuc[a] === 1 ? null : 0);
    expect(s.privacy.privleak).toBe(s.privacy.privleak_by_attack.min_k);
  });

  test('relearning attack: before/after probabilities on the held-out half and the recovery', () => {
    const r = readEvalSummary(join(dir('b'), 'summary.json')).relearn!;
    expect(r.steps).toBe(2);
    // "Before" is the evaluated model on the odd-index rows: recomputed from the forget samples.
    const odd = samples(dir('b'), 'forget').filter((x) => x.index % 2 === 1);
    expect(r.forget_prob_before).toBeCloseTo(mean(odd.map((x) => Math.exp(-x.gt_loss))), 12);
    expect(r.forget_prob_after).toBeGreaterThan(0);
    expect(r.forget_prob_after).toBeLessThanOrEqual(1);
    expect(r.forget_prob_after).not.toBe(r.forget_prob_before);
    expect(r.recovery).toBeCloseTo((r.forget_prob_after - r.forget_prob_before) / (1 - r.forget_prob_before), 12);
  });

  test('evaluating the same checkpoint twice gives byte-identical files', () => {
    const files = readdirSync(dir('b')).sort();
    expect(readdirSync(dir('c')).sort()).toEqual(files);
    for (const f of files) {
      expect(readFileSync(join(dir('c'), f)).equals(readFileSync(join(dir('b'), f)))).toBe(true);
      if (f === 'summary.json') continue;
      // The gold directory and the relearning attack leave the per-sample files unchanged.
      expect(readFileSync(join(dir('a'), f)).equals(readFileSync(join(dir('b'), f)))).toBe(true);
    }
  });
});

describe('evaluate: bad input', () => {
  const base = () => ({ model: fx.model, dataDir: fx.dataDir, outDir: dir('bad'), maxNewTokens: MAX_NEW, threads: 1 });
  test('unknown split, missing data, gold of another split', async () => {
    await expect(evaluate({ ...base(), benchmark: getBenchmark('clear'), forgetSplit: 'forget20' })).rejects.toThrow(UserError);
    await expect(evaluate({ ...base(), benchmark: getBenchmark('clear'), dataDir: join(fx.root, 'nope') })).rejects.toThrow(/does not exist/);
    await expect(evaluate({ ...base(), benchmark: getBenchmark('clear'), forgetSplit: 'forget05', gold: dir('a') })).rejects.toThrow(/forget10, not clear\/forget05/);
    await expect(evaluate({ ...base(), benchmark: getBenchmark('clear'), gold: join(fx.root, 'no-gold') })).rejects.toThrow(/evaluate the gold model first/);
    await expect(evaluate({ ...base(), benchmark: getBenchmark('clear'), truthRatio: 'clear-code', gold: dir('a') })).rejects.toThrow(/same --truth-ratio/);
  });
});

describe('evaluate on the tofu benchmark', () => {
  test('text tasks: plain probability for forget/retain QA, option-normalised for the utility sets', async () => {
    const out = dir('tofu');
    const { summary } = await evaluate({ model: fx.model, dataDir: fx.dataDir, benchmark: getBenchmark('tofu'), outDir: out, dsSize: 4, maxNewTokens: MAX_NEW, threads: 1 });
    expect(Object.keys(summary.tasks)).toEqual(['tofu_forget', 'tofu_retain', 'real_authors', 'world_facts']);
    const fg = samples(out, 'tofu_forget');
    expect(fg.length).toBe(4);
    expect(summary.tasks.tofu_forget.prob).toBeCloseTo(mean(fg.map((r) => Math.exp(-r.gt_loss))), 12);
    const wf = samples(out, 'world_facts');
    wf.forEach((r) => expect(r.para_loss).toBe(r.gt_loss));
    const hand = (r: SampleRecord) => 1 / (1 + r.pert_losses.reduce((a, l) => a + Math.exp(r.gt_loss - l), 0));
    expect(summary.tasks.world_facts.prob).toBeCloseTo(mean(wf.map(hand)), 12);
    expect(summary.model_utility).toBeGreaterThanOrEqual(0);
    expect(summary.privacy!.n_forget).toBe(4);
    readEvalSummary(join(out, 'summary.json'));
  });
});
