/**
 * The modality comparison of the HTML report (CLEAR's headline result): per modality the unlearning saw, the
 * Forget of the image tasks (clear) and of the text tasks (tofu), beside target and gold. Values are the
 * rows' means, checked against leaderboard rows built by hand.
 */
import { describe, expect, test } from '@jest/globals';
import { modalityComparisons } from '../../src/report/charts/modality.ts';
import { renderHtml } from '../../src/report/render/html.ts';
import type { LeaderboardRow, Stat } from '../../src/report/group.ts';
import type { Leaderboard, Section } from '../../src/report/leaderboard.ts';
import { METRICS } from '../../src/report/metrics.ts';

function row(name: string, role: LeaderboardRow['role'], method: string | null, modality: string | null, forget: number, benchmark: string): LeaderboardRow {
  const values: Record<string, Stat> = Object.fromEntries(METRICS.map((m) => [m.key, { mean: null, ci95: null, n: 0 }]));
  values.forget = { mean: forget, ci95: null, n: 1 };
  return {
    name, role, method, group: null, modality, benchmark, forget_split: 'forget10', hyperparameters: {}, values, tasks: {}, best: [],
    members: [{ runDir: '/runs/x', evalDir: `models/${name}/eval/${benchmark}-forget10`, meta: {} as never, summary: {} as never }],
  };
}

function section(benchmark: string, forgets: Record<string, number>): Section {
  const rows = [
    row('target', 'target', null, null, forgets.target, benchmark),
    row('gold-forget10', 'gold', null, null, forgets.gold, benchmark),
    ...['text', 'vision', 'joint'].map((m) => row(`npo-${m}-s0-forget10`, 'unlearned', 'npo', m, forgets[m], benchmark)),
    row('ga-s0-forget10', 'unlearned', 'ga', 'joint', 0.5, benchmark),
  ];
  return { benchmark, forget_split: 'forget10', rows };
}

const lb = (sections: Section[]): Leaderboard => ({ runDirs: ['/runs/x'], sections, curves: [], sortKey: 'name', unevaluated: [], incomplete: [] });
const clear = section('clear', { target: 0.9, gold: 0.2, text: 0.8, vision: 0.3, joint: 0.25 });
const tofu = section('tofu', { target: 0.4, gold: 0.1, text: 0.05, vision: 0.3, joint: 0.02 });

describe('forgetting by unlearning modality', () => {
  test('per modality the Forget of the image and the text tasks, target first and gold last; ga (one modality) is left out', () => {
    const [c] = modalityComparisons(lb([clear, tofu]));
    expect(c.forgetSplit).toBe('forget10');
    expect(c.missing).toEqual([]);
    const img = 'image tasks (clear)';
    const txt = 'text tasks (tofu)';
    expect(c.bars).toEqual([
      { model: 'target', kind: img, forget: 0.9 }, { model: 'target', kind: txt, forget: 0.4 },
      { model: 'npo · text', kind: img, forget: 0.8 }, { model: 'npo · text', kind: txt, forget: 0.05 },
      { model: 'npo · vision', kind: img, forget: 0.3 }, { model: 'npo · vision', kind: txt, forget: 0.3 },
      { model: 'npo · joint', kind: img, forget: 0.25 }, { model: 'npo · joint', kind: txt, forget: 0.02 },
      { model: 'gold', kind: img, forget: 0.2 }, { model: 'gold', kind: txt, forget: 0.1 },
    ]);
  });

  test('a missing benchmark is named; no method with several modalities means no chart and no section', async () => {
    expect(modalityComparisons(lb([clear]))[0].missing).toEqual(['text tasks (tofu)']);
    const single = { ...clear, rows: clear.rows.filter((r) => r.modality !== 'text' && r.modality !== 'vision') };
    expect(modalityComparisons(lb([single]))).toEqual([]);
    expect(await renderHtml(lb([single]), { relativeTo: '/runs' })).not.toContain('data-chart="modality"');
    const html = await renderHtml(lb([clear, tofu]), { relativeTo: '/runs' });
    expect(html).toContain('<h2>Forgetting by unlearning modality · forget10</h2>');
    expect(html).toContain('data-chart="modality"');
  });
});
