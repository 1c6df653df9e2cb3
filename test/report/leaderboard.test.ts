import { describe, expect, test } from '@jest/globals';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_RUN, copyRun as copyFixture, editJson, scratchDir } from './fixture-run.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { UserError } from '../../src/util/errors.ts';

const RUN = FIXTURE_RUN;
const scratch = scratchDir('report');

/** A private copy of the fixture run that a test may change. */
const copyRun = (name: string): string => copyFixture(scratch, name);


function userError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a UserError');
}

describe('leaderboard of the fixture run', () => {
  const lb = buildLeaderboard([RUN]);
  const rows = lb.sections[0].rows;
  const byName = (n: string) => rows.find((r) => r.name === n)!;

  test('one table; reference rows first, unlearned best forget quality first', () => {
    expect(lb.sections.map((s) => [s.benchmark, s.forget_split])).toEqual([['clear', 'forget10']]);
    // Fixture FQ_JS: npo mean 0.8780, simnpo 0.8512, ga 0.7741.
    expect(rows.map((r) => r.name)).toEqual(['base', 'target', 'gold', 'npo-lr1e-5', 'simnpo-b4.5', 'ga-lr1e-5']);
  });

  test('three npo seeds collapse into one row named by the group, mean ± Student-t half-width', () => {
    const npo = byName('npo-lr1e-5');
    expect(npo.members.map((m) => m.meta.seed)).toEqual([1, 2, 3]);
    expect(npo.members.map((m) => m.evalDir)).toEqual([1, 2, 3].map((s) => `models/npo-lr1e-5-s${s}/eval/clear-forget10`));
    // Hand computation from the fixture files: forget_quality_js = 0.8811, 0.8625, 0.8903;
    // mean 0.877966…; s = sqrt(((0.0031333)² + (0.0154667)² + (0.0123333)²)/2) = 0.0141624;
    // h = 4.30265 · s / √3 = 0.0351813.
    const fq = npo.values.forget_quality_js;
    expect(fq.n).toBe(3);
    expect(fq.mean).toBeCloseTo((0.8811 + 0.8625 + 0.8903) / 3, 12);
    expect(fq.ci95).toBeCloseTo(0.0351813, 6);
    // Wall time 120.4, 118.9, 121.7 → 120.333 ± 3.48075 (scipy.stats.t.interval, see stats.test.ts).
    expect(npo.values.wall_s.mean).toBeCloseTo(120.33333, 4);
    expect(npo.values.wall_s.ci95).toBeCloseTo(3.48075, 4);
    // Per-task values are averaged too: forget prob 0.061, 0.070, 0.055.
    expect(npo.tasks.forget.prob.mean).toBeCloseTo((0.061 + 0.07 + 0.055) / 3, 12);
  });

  test('single models keep their own values and have no interval', () => {
    const ga = byName('ga-lr1e-5');
    expect(ga.values.forget.mean).toBe(0.0095);
    expect(ga.values.forget.ci95).toBeNull();
    expect(byName('base').values.relearn_recovery).toEqual({ mean: null, ci95: null, n: 0 });
  });

  test('best per column among unlearned rows only, by each column\'s direction', () => {
    // Forget ↓: ga 0.0095 < simnpo 0.1236 < npo 0.1318. PrivLeak →0: npo mean 1.4 vs −3.9 and −41.7.
    // Relearn ↓: simnpo 0.423 < npo 0.4777 < ga 0.578. Gold's FQ 1.0 is a reference and never wins.
    expect(byName('ga-lr1e-5').best).toEqual(['forget']);
    expect(byName('simnpo-b4.5').best).toEqual(['relearn_recovery', 'wall_s']);
    expect(byName('npo-lr1e-5').best).toEqual(['real', 'retain', 'forget_quality_js', 'model_utility', 'forget_quality_ks', 'privleak']);
    expect(byName('gold').best).toEqual([]);
  });

  test('sorting by another column, or by name', () => {
    const byForget = buildLeaderboard([RUN], { sortKey: 'forget' }).sections[0].rows.map((r) => r.name);
    expect(byForget.slice(3)).toEqual(['ga-lr1e-5', 'simnpo-b4.5', 'npo-lr1e-5']);
    const byNameRows = buildLeaderboard([RUN], { sortKey: 'name' }).sections[0].rows.map((r) => r.name);
    expect(byNameRows).toEqual(['base', 'target', 'gold', 'ga-lr1e-5', 'npo-lr1e-5', 'simnpo-b4.5']);
    expect(userError(() => buildLeaderboard([RUN], { sortKey: 'bogus' }))).toMatch(/unknown sort key "bogus"; use one of: name, real/);
  });

  test('a model without evaluation is reported, not tabled', () => {
    expect(lb.unevaluated.map((u) => u.modelDir)).toEqual(['models/rmu-wip']);
    expect(rows.some((r) => r.name.startsWith('rmu'))).toBe(false);
  });

  test('training curves are read for every evaluated model with a train_log.jsonl (base has none)', () => {
    expect(lb.curves.map((c) => c.meta.name).sort()).toEqual(
      ['ga-lr1e-5', 'gold', 'npo-lr1e-5-s1', 'npo-lr1e-5-s2', 'npo-lr1e-5-s3', 'simnpo-b4.5', 'target'].sort(),
    );
    expect(lb.curves.find((c) => c.meta.name === 'target')!.entries).toHaveLength(40);
  });
});

describe('a half-finished run', () => {
  // The pipeline records the evaluations its plan writes in expected-results.json when the run starts.
  const planned = ['base', 'target', 'gold', 'ga-lr1e-5', 'npo-lr1e-5-s1', 'npo-lr1e-5-s2', 'npo-lr1e-5-s3', 'simnpo-b4.5']
    .map((m) => `models/${m}/eval/clear-forget10`);

  test('names the planned evaluations that have no results, in every report that has a footnote', async () => {
    const run = copyRun('half-finished');
    const pending = ['models/rmu-s0/eval/clear-forget10', 'models/ga-lr1e-5/eval/tofu-forget10'];
    writeFileSync(join(run, 'expected-results.json'), JSON.stringify({ evaluations: [...planned, ...pending] }));
    const lb = buildLeaderboard([run]);
    expect(lb.incomplete).toEqual([{ runDir: run, expected: 10, missing: pending }]);
    const note = '2 of 10 planned evaluations have no results yet and are not in the tables ' +
      '(models/rmu-s0/eval/clear-forget10, models/ga-lr1e-5/eval/tofu-forget10); run the same config again to finish the run';
    const { renderLeaderboard } = await import('../../src/report/render/index.ts');
    expect(await renderLeaderboard(lb, 'md', scratch)).toContain(`**Incomplete run** \`half-finished\`: ${note}.`);
    expect(await renderLeaderboard(lb, 'html', scratch)).toContain(`<b>Incomplete run</b> <code>half-finished</code>: ${note}.`);
  });

  test('a long list names eight and counts the rest', async () => {
    const { incompleteNote } = await import('../../src/report/format.ts');
    const missing = Array.from({ length: 11 }, (_, i) => `m${i}`);
    expect(incompleteNote({ expected: 20, missing })).toBe(
      '11 of 20 planned evaluations have no results yet and are not in the tables (m0, m1, m2, m3, m4, m5, m6, m7 and 3 more); run the same config again to finish the run',
    );
  });

  test('a finished run, or one from before the file existed, is not flagged', () => {
    const run = copyRun('finished');
    expect(buildLeaderboard([run]).incomplete).toEqual([]);
    writeFileSync(join(run, 'expected-results.json'), JSON.stringify({ evaluations: planned }));
    expect(buildLeaderboard([run]).incomplete).toEqual([]);
  });

  test('a malformed expected-results.json names the file and the fix', () => {
    const run = copyRun('bad-expected');
    writeFileSync(join(run, 'expected-results.json'), JSON.stringify({ evaluations: ['../../etc'] }));
    expect(userError(() => buildLeaderboard([run]))).toBe(
      `${join(run, 'expected-results.json')}: "evaluations" must be a list of run-relative directories; delete the file and run the pipeline again to rewrite it`,
    );
  });
});

describe('several run directories', () => {
  test('the same run given twice (or a copy with identical results) adds nothing', () => {
    const copy = copyRun('copy');
    const lb = buildLeaderboard([RUN, copy, RUN]);
    expect(lb.runDirs).toHaveLength(2);
    expect(lb.sections[0].rows.map((r) => [r.name, r.members.length])).toEqual([
      ['base', 1], ['target', 1], ['gold', 1], ['npo-lr1e-5', 3], ['simnpo-b4.5', 1], ['ga-lr1e-5', 1],
    ]);
  });

  test('the same config run twice: only wall-clock times differ, so each seed is one member (the first run\'s times shown)', () => {
    const again = copyRun('rerun');
    for (const model of ['target', 'gold', 'ga-lr1e-5', 'npo-lr1e-5-s1', 'npo-lr1e-5-s2', 'npo-lr1e-5-s3', 'simnpo-b4.5']) {
      editJson(join(again, 'models', model, 'meta.json'), (o) => { o.wall_s += 7.5; });
    }
    const lb = buildLeaderboard([RUN, again]);
    const rows = lb.sections[0].rows;
    expect(rows.map((r) => [r.name, r.members.length])).toEqual([
      ['base', 1], ['target', 1], ['gold', 1], ['npo-lr1e-5', 3], ['simnpo-b4.5', 1], ['ga-lr1e-5', 1],
    ]);
    expect(rows.find((r) => r.name === 'ga-lr1e-5')!.values.wall_s.mean).toBe(95.3);
    expect(rows.find((r) => r.name === 'ga-lr1e-5')!.members[0].runDir).toBe(RUN);
  });

  test('the same seed with the same scores but another configuration in meta.json is still an error', () => {
    const changed = copyRun('conflict-meta');
    editJson(join(changed, 'models', 'ga-lr1e-5', 'meta.json'), (o) => { o.hyperparameters.lr = 2e-5; o.wall_s = 1; });
    expect(userError(() => buildLeaderboard([RUN, changed]))).toContain('seed 1 appears twice with different results');
  });

  test('seeds from another run join their group', () => {
    const other = join(scratch, 'seed4');
    const model = join(other, 'models', 'npo-lr1e-5-s4');
    cpSync(join(RUN, 'models', 'npo-lr1e-5-s1'), model, { recursive: true });
    editJson(join(model, 'meta.json'), (o) => { o.name = 'npo-lr1e-5-s4'; o.seed = 4; });
    editJson(join(model, 'eval', 'clear-forget10', 'summary.json'), (o) => { o.forget_quality_js = 0.9; });
    const npo = buildLeaderboard([RUN, other]).sections[0].rows.find((r) => r.name === 'npo-lr1e-5')!;
    expect(npo.members.map((m) => m.meta.seed)).toEqual([1, 2, 3, 4]);
    expect(npo.values.forget_quality_js.mean).toBeCloseTo((0.8811 + 0.8625 + 0.8903 + 0.9) / 4, 12);
  });

  test('the same seed with different results is an error naming both directories', () => {
    const changed = copyRun('conflict');
    editJson(join(changed, 'models', 'ga-lr1e-5', 'eval', 'clear-forget10', 'summary.json'), (o) => { o.model_utility = 0.1; });
    const msg = userError(() => buildLeaderboard([RUN, changed]));
    expect(msg).toContain('seed 1 appears twice with different results');
    expect(msg).toContain(join(changed, 'models/ga-lr1e-5/eval/clear-forget10'));
  });

  test('one group with different hyperparameters is an error', () => {
    const run = copyRun('mixed-config');
    editJson(join(run, 'models', 'npo-lr1e-5-s2', 'meta.json'), (o) => { o.hyperparameters.lr = 5e-5; });
    expect(userError(() => buildLeaderboard([run]))).toMatch(/group "npo-lr1e-5".*different method or hyperparameters/);
  });
});

describe('several benchmarks or forget splits', () => {
  test('one table per benchmark and split, in name order, each ranked on its own', async () => {
    const run = copyRun('two-benchmarks');
    for (const model of ['gold', 'ga-lr1e-5']) {
      const from = join(run, 'models', model, 'eval', 'clear-forget10');
      const to = join(run, 'models', model, 'eval', 'tofu-forget05');
      cpSync(from, to, { recursive: true });
      editJson(join(to, 'summary.json'), (o) => { o.benchmark = 'tofu'; o.forget_split = 'forget05'; });
    }
    const lb = buildLeaderboard([run]);
    expect(lb.sections.map((s) => `${s.benchmark}/${s.forget_split}:${s.rows.map((r) => r.name).join(',')}`)).toEqual([
      'clear/forget10:base,target,gold,npo-lr1e-5,simnpo-b4.5,ga-lr1e-5',
      'tofu/forget05:gold,ga-lr1e-5',
    ]);
    // Alone among the unlearned rows of its table, ga is best in every column it has a value for.
    expect(lb.sections[1].rows[1].best).toEqual(['real', 'retain', 'forget', 'forget_quality_js', 'model_utility', 'forget_quality_ks', 'privleak', 'relearn_recovery', 'wall_s']);
    const { renderMarkdown } = await import('../../src/report/render/markdown.ts');
    const md = renderMarkdown(lb, { relativeTo: scratch });
    expect(md.indexOf('## clear · forget10')).toBeGreaterThanOrEqual(0);
    expect(md.indexOf('## tofu · forget05')).toBeGreaterThan(md.indexOf('## clear · forget10'));
  });
});

describe('bad input', () => {
  test('a run dir without results', () => {
    const empty = join(scratch, 'empty');
    mkdirSync(join(empty, 'models', 'target'), { recursive: true });
    const msg = userError(() => buildLeaderboard([empty]));
    expect(msg).toBe(`${empty}: no results found (expected models/<model>/eval/<benchmark>-<split>/summary.json); run the pipeline to the end first, or check the run directory`);
  });

  test('a run dir that does not exist', () => {
    expect(userError(() => buildLeaderboard([join(scratch, 'nope')]))).toMatch(/nope: run directory not found; check the path$/);
  });

  test('a summary key of the wrong type names the file and the key', () => {
    const run = copyRun('bad-type');
    const file = join(run, 'models', 'gold', 'eval', 'clear-forget10', 'summary.json');
    editJson(file, (o) => { o.paper.real = '0.5'; });
    expect(userError(() => buildLeaderboard([run]))).toBe(
      `${file}: key "paper.real" must be a number (found the string "0.5"); re-run the step that wrote it, or fix the file`,
    );
  });

  test('a missing summary key names the file and the key', () => {
    const run = copyRun('missing-key');
    const file = join(run, 'models', 'target', 'eval', 'clear-forget10', 'summary.json');
    editJson(file, (o) => { delete o.tasks.retain.truth_ratio; });
    expect(userError(() => buildLeaderboard([run]))).toContain(`${file}: key "tasks.retain.truth_ratio" must be a number (it is missing)`);
  });

  test('a summary that is not JSON names the file', () => {
    const run = copyRun('not-json');
    const file = join(run, 'models', 'base', 'eval', 'clear-forget10', 'summary.json');
    writeFileSync(file, '{"benchmark": "clear",');
    expect(userError(() => buildLeaderboard([run]))).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON \\(`));
  });

  test('a meta.json with an unknown role', () => {
    const run = copyRun('bad-role');
    const file = join(run, 'models', 'base', 'meta.json');
    editJson(file, (o) => { o.role = 'teacher'; });
    expect(userError(() => buildLeaderboard([run]))).toContain(`${file}: key "role" must be one of base, target, gold, unlearned (found the string "teacher")`);
  });

  test('an unlearned model without a method', () => {
    const run = copyRun('no-method');
    const file = join(run, 'models', 'ga-lr1e-5', 'meta.json');
    editJson(file, (o) => { o.method = null; });
    expect(userError(() => buildLeaderboard([run]))).toContain(`${file}: key "method" must be the unlearning method`);
  });

  test('a bad train_log.jsonl line names the file and the line', () => {
    const run = copyRun('bad-log');
    const file = join(run, 'models', 'target', 'train_log.jsonl');
    writeFileSync(file, '{"step": 1, "loss": 2.5}\n\n{"step": 2, "loss": "x"}\n');
    expect(userError(() => buildLeaderboard([run]))).toContain(`${file}:3: key "loss" must be a number (found the string "x")`);
  });

  test('optional sections may be null or absent', () => {
    const run = copyRun('optional');
    editJson(join(run, 'models', 'ga-lr1e-5', 'eval', 'clear-forget10', 'summary.json'), (o) => {
      delete o.privacy; o.relearn = null; delete o.extraction; delete o.forget_quality_ks;
    });
    const ga = buildLeaderboard([run]).sections[0].rows.find((r) => r.name === 'ga-lr1e-5')!;
    expect(ga.values.privleak.mean).toBeNull();
    expect(ga.values.relearn_recovery.mean).toBeNull();
    expect(ga.values.forget_quality_ks.mean).toBeNull();
    expect(ga.values.forget.mean).toBe(0.0095);
  });
});
