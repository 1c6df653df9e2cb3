/**
 * The modality comparison of the HTML report (CLEAR's headline result): per modality the unlearning saw, the
 * Forget of the image tasks (clear) and of the text tasks (tofu), beside target and gold. Checked on
 * leaderboard rows built by hand and, end to end, on a copy of the fixture run given text and vision npo
 * models and tofu evaluations.
 */
import { describe, expect, test } from '@jest/globals';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { modalityComparisons, type ModalityBar } from '../../src/report/charts/modality.ts';
import { modalitySpec } from '../../src/report/charts/specs.ts';
import { renderHtml } from '../../src/report/render/html.ts';
import { buildLeaderboard, type Leaderboard, type Section } from '../../src/report/leaderboard.ts';
import type { LeaderboardRow, Stat } from '../../src/report/group.ts';
import { METRICS } from '../../src/report/metrics.ts';
import { FIXTURE_RUN, copyRun, editJson, scratchDir } from './fixture-run.ts';

const IMG = 'image tasks (clear)';
const TXT = 'text tasks (tofu)';

function row(name: string, role: LeaderboardRow['role'], method: string | null, modality: string | null, forget: number, benchmark: string, hyperparameters: Record<string, unknown> = {}): LeaderboardRow {
  const values: Record<string, Stat> = Object.fromEntries(METRICS.map((m) => [m.key, { mean: null, ci95: null, n: 0 }]));
  values.forget = { mean: forget, ci95: null, n: 1 };
  return {
    name, role, method, group: null, modality, benchmark, forget_split: 'forget10', hyperparameters, values, tasks: {}, best: [],
    members: [{ runDir: '/runs/x', evalDir: `models/${name}/eval/${benchmark}-forget10`, meta: {} as never, summary: {} as never }],
  };
}

function section(benchmark: string, forgets: Record<string, number>): Section {
  const rows = [
    row('target', 'target', null, null, forgets.target, benchmark),
    row('gold-forget10', 'gold', null, null, forgets.gold, benchmark),
    ...['text', 'vision', 'joint'].map((m) => row(`npo-${m}-s0-forget10`, 'unlearned', 'npo', m, forgets[m], benchmark, { beta: 0.1, modality: m })),
    row('ga-s0-forget10', 'unlearned', 'ga', 'joint', 0.5, benchmark),
  ];
  return { benchmark, forget_split: 'forget10', rows };
}

const lb = (sections: Section[]): Leaderboard => ({ runDirs: ['/runs/x'], sections, curves: [], sortKey: 'name', unevaluated: [], incomplete: [] });
const clear = section('clear', { target: 0.9, gold: 0.2, text: 0.8, vision: 0.3, joint: 0.25 });
const tofu = section('tofu', { target: 0.4, gold: 0.1, text: 0.05, vision: 0.3, joint: 0.02 });

function expectNoModalityChart(html: string): void {
  expect(html).toContain('data-chart="scatter"');
  expect(html).not.toContain('Forgetting by unlearning modality');
  expect(html).not.toContain('data-chart="modality"');
  expect(html).not.toContain('"#modality-');
}

/** [model, kind, forget] of each bar, in order. */
const triples = (bars: ModalityBar[]) => bars.map((b) => [b.model, b.kind, b.forget]);

describe('forgetting by unlearning modality, from leaderboard rows', () => {
  test('per modality the Forget of the image and the text tasks, target first and gold last; ga (one modality) is left out', () => {
    const [c] = modalityComparisons(lb([clear, tofu]));
    expect(c.forgetSplit).toBe('forget10');
    expect(c.missing).toEqual([]);
    expect(c.gaps).toEqual([]);
    expect(triples(c.bars)).toEqual([
      ['target', IMG, 0.9], ['target', TXT, 0.4],
      ['npo · text', IMG, 0.8], ['npo · text', TXT, 0.05],
      ['npo · vision', IMG, 0.3], ['npo · vision', TXT, 0.3],
      ['npo · joint', IMG, 0.25], ['npo · joint', TXT, 0.02],
      ['gold', IMG, 0.2], ['gold', TXT, 0.1],
    ]);
    expect(c.bars.filter((b) => b.reference).map((b) => b.model)).toEqual(['target', 'target', 'gold', 'gold']);
  });

  test('the spec draws exactly those bars, models in that order, image before text', () => {
    const [c] = modalityComparisons(lb([clear, tofu]));
    const spec = modalitySpec(c) as any;
    expect(spec.data.values).toEqual(c.bars);
    const bars = spec.layer[0].encoding;
    expect(bars.x.sort).toEqual(['target', 'npo · text', 'npo · vision', 'npo · joint', 'gold']);
    expect(bars.xOffset.sort).toEqual([IMG, TXT]);
    expect(bars.y.title).toMatch(/lower = more forgotten/);
  });

  test('two npo configurations over the modalities are told apart by their values, not mixed', () => {
    const other = (s: Section, shift: number): Section => ({
      ...s,
      rows: [
        ...s.rows,
        ...['text', 'joint'].map((m) => row(`npo-${m}-beta1-s0-forget10`, 'unlearned', 'npo', m, (s.rows.find((r) => r.modality === m && r.method === 'npo')!.values.forget.mean as number) + shift, s.benchmark, { beta: 1, modality: m })),
      ],
    });
    const [c] = modalityComparisons(lb([other(clear, 0.01), other(tofu, 0.03)]));
    expect(triples(c.bars.filter((b) => b.model.startsWith('npo (beta=1)')))).toEqual([
      ['npo (beta=1) · text', IMG, 0.81], ['npo (beta=1) · text', TXT, 0.08],
      ['npo (beta=1) · joint', IMG, 0.26], ['npo (beta=1) · joint', TXT, 0.05],
    ]);
    expect(triples(c.bars.filter((b) => b.model === 'npo (beta=0.1) · text'))).toEqual([['npo (beta=0.1) · text', IMG, 0.8], ['npo (beta=0.1) · text', TXT, 0.05]]);
  });

  test('a missing benchmark is named and the other shown; a missing value is named; one modality per method means no chart', async () => {
    const [onlyImages] = modalityComparisons(lb([clear]));
    expect(onlyImages.missing).toEqual([TXT]);
    expect(new Set(onlyImages.bars.map((b) => b.kind))).toEqual(new Set([IMG]));
    const html = await renderHtml(lb([clear]), { relativeTo: '/runs' });
    expect(html).toContain(`No results for the ${TXT} in this split: only the ${IMG} are shown.`);

    const noVisionText = { ...tofu, rows: tofu.rows.filter((r) => r.modality !== 'vision') };
    expect(modalityComparisons(lb([clear, noVisionText]))[0].gaps).toEqual([`npo · vision on ${TXT}`]);

    const single = { ...clear, rows: clear.rows.filter((r) => r.modality !== 'text' && r.modality !== 'vision') };
    expect(modalityComparisons(lb([single]))).toEqual([]);
    expectNoModalityChart(await renderHtml(lb([single]), { relativeTo: '/runs' }));
  });
});

describe('forgetting by unlearning modality, from a run directory', () => {
  const scratch = scratchDir('modality');

  /** Evaluates `model` on `benchmark` with the given paper Forget, from a copy of its clear summary. */
  function addEval(run: string, model: string, benchmark: string, forget: number): void {
    const evalDir = join(run, 'models', model, 'eval');
    mkdirSync(join(evalDir, `${benchmark}-forget10`), { recursive: true });
    if (benchmark !== 'clear') cpSync(join(evalDir, 'clear-forget10', 'summary.json'), join(evalDir, `${benchmark}-forget10`, 'summary.json'));
    editJson(join(evalDir, `${benchmark}-forget10`, 'summary.json'), (o) => { o.benchmark = benchmark; o.paper.forget = forget; });
  }

  /** The fixture run (npo joint over three seeds) plus one-seed npo text and vision models, all on clear and tofu. */
  function modalityRun(name: string): string {
    const run = copyRun(scratch, name);
    for (const modality of ['text', 'vision']) {
      const model = `npo-${modality}-lr1e-5-s1`;
      cpSync(join(run, 'models', 'npo-lr1e-5-s1'), join(run, 'models', model), { recursive: true });
      editJson(join(run, 'models', model, 'meta.json'), (o) => { o.name = model; o.group = `npo-${modality}-lr1e-5`; o.modality = modality; });
    }
    const forgets: Record<string, [number, number]> = {
      target: [0.91, 0.52], gold: [0.12, 0.08], 'npo-text-lr1e-5-s1': [0.7, 0.1], 'npo-vision-lr1e-5-s1': [0.2, 0.45],
      'npo-lr1e-5-s1': [0.15, 0.1], 'npo-lr1e-5-s2': [0.17, 0.12], 'npo-lr1e-5-s3': [0.19, 0.14],
    };
    for (const [model, [image, text]] of Object.entries(forgets)) {
      addEval(run, model, 'clear', image);
      addEval(run, model, 'tofu', text);
    }
    return run;
  }

  test('the HTML holds the chart, and its bars are the rows\' means (joint: the mean of three seeds, with its interval)', async () => {
    const run = modalityRun('three-modalities');
    const board = buildLeaderboard([run]);
    const [c] = modalityComparisons(board);
    expect(c.bars.map((b) => [b.model, b.kind, Number(b.forget.toFixed(6))])).toEqual([
      ['target', IMG, 0.91], ['target', TXT, 0.52],
      ['npo · text', IMG, 0.7], ['npo · text', TXT, 0.1],
      ['npo · vision', IMG, 0.2], ['npo · vision', TXT, 0.45],
      ['npo · joint', IMG, 0.17], ['npo · joint', TXT, 0.12],
      ['gold', IMG, 0.12], ['gold', TXT, 0.08],
    ]);
    // Each bar is exactly the Forget mean of its leaderboard row.
    const joint = board.sections.find((s) => s.benchmark === 'clear')!.rows.find((r) => r.modality === 'joint' && r.method === 'npo')!;
    const jointBar = c.bars.find((b) => b.model === 'npo · joint' && b.kind === IMG)!;
    expect(jointBar.forget).toBe(joint.values.forget.mean);
    expect(jointBar.hi! - jointBar.forget).toBeCloseTo(joint.values.forget.ci95!, 12);
    expect(c.bars.find((b) => b.model === 'npo · text')!.lo).toBeNull();

    const html = await renderHtml(board, { relativeTo: run });
    expect(html).toContain('<section class="modality" id="modality-forget10">');
    expect(html).toContain('<h2>Forgetting by unlearning modality · forget10</h2>');
    expect(html).toContain('<a href="#modality-forget10">');
    const figure = html.slice(html.indexOf('data-chart="modality"'), html.indexOf('</figure>', html.indexOf('data-chart="modality"')));
    expect(figure.match(/aria-roledescription="bar"/g)).toHaveLength(10);
    expect(figure).toContain('lower is more forgotten');
    expect(figure).not.toContain('No results for');
  });

  test('without the tofu evaluations the chart shows the image tasks and says the text tasks are missing', async () => {
    const run = modalityRun('no-tofu');
    for (const model of ['target', 'gold', 'npo-text-lr1e-5-s1', 'npo-vision-lr1e-5-s1', 'npo-lr1e-5-s1', 'npo-lr1e-5-s2', 'npo-lr1e-5-s3']) {
      rmSync(join(run, 'models', model, 'eval', 'tofu-forget10'), { recursive: true });
    }
    const html = await renderHtml(buildLeaderboard([run]), { relativeTo: run });
    expect(html).toContain(`No results for the ${TXT} in this split: only the ${IMG} are shown.`);
    const figure = html.slice(html.indexOf('data-chart="modality"'), html.indexOf('</figure>', html.indexOf('data-chart="modality"')));
    expect(figure.match(/aria-roledescription="bar"/g)).toHaveLength(5);
  });

  test('the fixture run, every model unlearned jointly, has no modality chart, section or link', async () => {
    expectNoModalityChart(await renderHtml(buildLeaderboard([FIXTURE_RUN]), { relativeTo: FIXTURE_RUN }));
  });
});
