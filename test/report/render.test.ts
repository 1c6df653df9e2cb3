import { describe, expect, test } from '@jest/globals';
import { formatHyperparameters, formatNumber, relativePath } from '../../src/report/format.ts';
import { escapeLatex } from '../../src/report/render/latex.ts';
import { renderCsv } from '../../src/report/render/csv.ts';
import { renderMarkdown } from '../../src/report/render/markdown.ts';
import type { Leaderboard } from '../../src/report/leaderboard.ts';
import type { LeaderboardRow, Stat } from '../../src/report/group.ts';
import { METRICS } from '../../src/report/metrics.ts';

describe('number formatting', () => {
  test('fixed digits, p-values in scientific notation below 1e-3, no negative zero', () => {
    expect(formatNumber({ style: 'fixed', digits: 3 }, 0.87796)).toBe('0.878');
    expect(formatNumber({ style: 'fixed', digits: 1 }, -68.44)).toBe('-68.4');
    expect(formatNumber({ style: 'fixed', digits: 3 }, -0.0001)).toBe('0.000');
    expect(formatNumber({ style: 'fixed', digits: 1 }, -0.04)).toBe('0.0');
    expect(formatNumber({ style: 'pvalue', digits: 3 }, 2.31e-9)).toBe('2.3e-9');
    expect(formatNumber({ style: 'pvalue', digits: 3 }, 0.0123)).toBe('0.012');
    expect(formatNumber({ style: 'pvalue', digits: 3 }, 0)).toBe('0.000');
  });

  test('hyperparameters as sorted key=value pairs', () => {
    expect(formatHyperparameters({ lr: 1e-5, beta: 0.1, modules: ['q', 'v'], retain_loss: 'kl' })).toBe(
      'beta=0.1, lr=0.00001, modules=["q","v"], retain_loss=kl',
    );
    expect(formatHyperparameters({})).toBe('');
  });

  test('relative paths use forward slashes and "." for the base itself', () => {
    expect(relativePath('/a/b', '/a/b')).toBe('.');
    expect(relativePath('/a/b', '/a/c/d')).toBe('../c/d');
  });
});

describe('escaping', () => {
  test('LaTeX special characters', () => {
    expect(escapeLatex('npo_lr1e-4 & 50% #1 {x} ~y^2 \\z $')).toBe(
      'npo\\_lr1e-4 \\& 50\\% \\#1 \\{x\\} \\textasciitilde{}y\\textasciicircum{}2 \\textbackslash{}z \\$',
    );
  });

  // A one-row leaderboard with awkward text, to check CSV quoting and Markdown cell escaping.
  function tinyLeaderboard(name: string, hp: Record<string, unknown>): Leaderboard {
    const values: Record<string, Stat> = Object.fromEntries(METRICS.map((m) => [m.key, { mean: null, ci95: null, n: 0 }]));
    values.real = { mean: 0.5, ci95: null, n: 1 };
    const row: LeaderboardRow = {
      name, role: 'unlearned', method: 'ga', group: null, modality: null, benchmark: 'clear', forget_split: 'forget01',
      hyperparameters: hp, values, tasks: {}, best: ['real'],
      members: [{ runDir: '/runs/x', evalDir: 'models/m/eval/clear-forget01', meta: {} as never, summary: {} as never }],
    };
    return { runDirs: ['/runs/x'], sections: [{ benchmark: 'clear', forget_split: 'forget01', rows: [row] }], curves: [], sortKey: 'name', unevaluated: [], incomplete: [] };
  }

  test('CSV quotes fields with commas and doubles inner quotes (RFC 4180)', () => {
    const csv = renderCsv(tinyLeaderboard('a "quoted", name', { lr: 1, note: 'x' }), { relativeTo: '/runs' });
    const line = csv.split('\r\n')[1];
    expect(line.startsWith('clear,forget01,"a ""quoted"", name",unlearned,ga,,,,1,0.5,,')).toBe(true);
    expect(line.endsWith(',real,"lr=1, note=x",x,models/m/eval/clear-forget01')).toBe(true);
  });

  test('Markdown escapes pipes in cells and bolds the best value', () => {
    const md = renderMarkdown(tinyLeaderboard('a|b', {}), { relativeTo: '/runs' });
    expect(md).toContain('| a\\|b | unlearned | ga | 1 | **0.500** | — |');
  });
});

describe('inline SVG ids', () => {
  test('are renamed in order of appearance with the chart prefix, references included', async () => {
    const { renameIds } = await import('../../src/report/charts/svg.ts');
    const svg = '<clipPath id="clip7"/><g clip-path="url(#clip7)"/><clipPath id="clip9"/><use href="#clip9"/><g clip-path="url(#clip7)"/>';
    expect(renameIds(svg, 'c-')).toBe('<clipPath id="c-1"/><g clip-path="url(#c-1)"/><clipPath id="c-2"/><use href="#c-2"/><g clip-path="url(#c-1)"/>');
  });
});
