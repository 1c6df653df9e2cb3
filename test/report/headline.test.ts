/**
 * What the tables and headline cards claim about a row: the Seeds column counts the seeds a row averages,
 * the cards crown only models that kept ≥ 80 % of target's Model Utility (and say so), and the CLEAR
 * code's Forget value travels in the CSV and JSON but not in the human-readable table.
 */
import { describe, expect, test } from '@jest/globals';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_RUN, copyRun as copyFixture, editJson, scratchDir } from './fixture-run.ts';
import { bestAmongUseful } from '../../src/report/best.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { renderCsv } from '../../src/report/render/csv.ts';
import { renderHtml } from '../../src/report/render/html.ts';
import { renderJson } from '../../src/report/render/json.ts';
import { renderLatex } from '../../src/report/render/latex.ts';
import { renderMarkdown } from '../../src/report/render/markdown.ts';

const RUN = FIXTURE_RUN;
const scratch = scratchDir('headline');

/** A private copy of the fixture run that a test may change. */
const copyRun = (name: string): string => copyFixture(scratch, name);


const summaryOf = (run: string, model: string) => join(run, 'models', model, 'eval', 'clear-forget10', 'summary.json');

/** The text of one headline card of the HTML page, tags stripped. */
function cardText(html: string, key: string): string | null {
  const m = html.match(new RegExp(`<div class="highlight" data-card="${key}">(.*?)</div></div>`));
  return m ? m[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() : null;
}

describe('Seeds column: how many seeds a row averages', () => {
  // A two-seed configuration: the fixture's npo group without its third seed.
  const run = copyRun('two-seeds');
  rmSync(join(run, 'models', 'npo-lr1e-5-s3'), { recursive: true });
  const lb = buildLeaderboard([run]);

  test('Markdown: 2 for the two-seed npo row, 1 for single models (not their seed value 0 or 1)', () => {
    const md = renderMarkdown(lb, { relativeTo: '/' });
    expect(md).toContain('| npo-lr1e-5 | unlearned | npo | 2 | ');
    expect(md).toContain('| target | target | — | 1 | ');
    // simnpo's only seed is 1, ga's is 1: both average one seed.
    expect(md).toContain('| simnpo-b4.5 | unlearned | simnpo | 1 | ');
  });

  test('LaTeX and HTML show the count; HTML keeps the seed values in the cell title', async () => {
    expect(renderLatex(lb)).toContain('npo-lr1e-5 & npo & 2 & ');
    const html = await renderHtml(lb, { relativeTo: run });
    expect(html).toContain('<td class="seeds" title="seeds 1, 2">2</td>');
    expect(html).toContain('<td class="seeds" title="seeds 0">1</td>');
  });

  test('CSV and JSON keep the seed values beside the count', () => {
    const npoLine = renderCsv(lb, { relativeTo: run }).split('\r\n').find((l) => l.includes(',npo-lr1e-5,'))!;
    expect(npoLine).toContain(',1;2,2,');
    const npo = (JSON.parse(renderJson(lb, { relativeTo: run })) as Record<string, unknown>[]).find((r) => r.name === 'npo-lr1e-5')!;
    expect([npo.seeds, npo.n_seeds]).toEqual([[1, 2], 2]);
  });
});

describe('models of one group that unlearned different modalities', () => {
  test('stay separate rows instead of colliding as one seed with two results', () => {
    const run = copyRun('modalities');
    const vision = join(run, 'models', 'npo-lr1e-5-s1-vision');
    cpSync(join(run, 'models', 'npo-lr1e-5-s1'), vision, { recursive: true });
    editJson(join(vision, 'meta.json'), (o) => { o.name = 'npo-lr1e-5-s1-vision'; o.modality = 'vision'; });
    editJson(join(vision, 'eval', 'clear-forget10', 'summary.json'), (o) => { o.paper.forget = 0.3; });
    const rows = buildLeaderboard([run]).sections[0].rows.filter((r) => r.method === 'npo');
    expect(rows.map((r) => [r.modality, r.members.length])).toEqual(expect.arrayContaining([['joint', 3], ['vision', 1]]));
    expect(rows).toHaveLength(2);
  });
});

describe('headline cards crown only models that kept ≥ 80 % of target\'s utility', () => {
  // Fixture Model Utility: target 0.5695 → floor 0.8 · 0.5695 = 0.4556. npo 0.559 (mean of three seeds) and
  // simnpo 0.557 qualify; ga 0.293 (51 %) does not, though its Forget 0.0095 is the table's lowest.
  const lb = buildLeaderboard([RUN]);
  const rows = lb.sections[0].rows;

  test('best Forget among the useful models is simnpo (0.1236), not the collapsed ga (0.0095)', () => {
    const best = bestAmongUseful(rows, 'forget');
    expect(best.floor).toBeCloseTo(0.8 * 0.5695, 12);
    expect(best.winners.map((r) => r.name)).toEqual(['simnpo-b4.5']);
    expect(best.value).toBe(0.1236);
    // The table's bold mark is unchanged: ga holds the lowest Forget of all unlearned rows.
    expect(rows.find((r) => r.name === 'ga-lr1e-5')!.best).toContain('forget');
  });

  test('best Forget Quality among the useful models is npo (mean 0.878)', () => {
    const best = bestAmongUseful(rows, 'forget_quality_js');
    expect(best.winners.map((r) => r.name)).toEqual(['npo-lr1e-5']);
    expect(best.value).toBeCloseTo((0.8811 + 0.8625 + 0.8903) / 3, 12);
  });

  test('the cards name the winner and say which models were eligible', async () => {
    const html = await renderHtml(lb, { relativeTo: RUN });
    expect(cardText(html, 'forget')).toBe("Best forget ↓ 0.124 simnpo-b4.5 among models keeping ≥ 80 % of target's utility (≥ 0.456)");
    expect(cardText(html, 'forget_quality_js')).toBe("Best forget quality ↑ 0.878 npo-lr1e-5 among models keeping ≥ 80 % of target's utility (≥ 0.456)");
  });

  test('when no unlearned model keeps 80 % of target\'s utility, the cards say so and crown none', async () => {
    const run = copyRun('all-collapsed');
    // Every unlearned model at utility 0.45 < 0.4556.
    for (const m of ['ga-lr1e-5', 'npo-lr1e-5-s1', 'npo-lr1e-5-s2', 'npo-lr1e-5-s3', 'simnpo-b4.5']) {
      editJson(summaryOf(run, m), (o) => { o.model_utility = 0.45; });
    }
    const collapsed = buildLeaderboard([run]);
    expect(bestAmongUseful(collapsed.sections[0].rows, 'forget').winners).toEqual([]);
    const html = await renderHtml(collapsed, { relativeTo: run });
    for (const key of ['forget', 'forget_quality_js']) {
      const text = cardText(html, key)!;
      expect(text).toContain("no unlearned model keeps ≥ 80 % of target's utility (≥ 0.456)");
      expect(text).not.toMatch(/npo|simnpo|ga-/);
    }
  });

  test('exactly at the floor qualifies', () => {
    const run = copyRun('at-floor');
    editJson(summaryOf(run, 'target'), (o) => { o.model_utility = 0.5; });
    editJson(summaryOf(run, 'ga-lr1e-5'), (o) => { o.model_utility = 0.4; });
    expect(bestAmongUseful(buildLeaderboard([run]).sections[0].rows, 'forget').winners.map((r) => r.name)).toEqual(['ga-lr1e-5']);
  });

  test('without a target row the cards rank every unlearned model and say utility was not checked', async () => {
    const run = copyRun('no-target');
    rmSync(join(run, 'models', 'target'), { recursive: true });
    const noTarget = buildLeaderboard([run]);
    const best = bestAmongUseful(noTarget.sections[0].rows, 'forget');
    expect([best.floor, best.winners.map((r) => r.name)]).toEqual([null, ['ga-lr1e-5']]);
    expect(cardText(await renderHtml(noTarget, { relativeTo: run }), 'forget')).toContain('utility not checked');
  });
});

describe('forget_clear_code, the CLEAR code\'s Forget value', () => {
  const lb = buildLeaderboard([RUN]);

  test('is in the CSV and JSON (null for summaries written before it), not in the Markdown table', () => {
    const json = JSON.parse(renderJson(lb, { relativeTo: RUN })) as Record<string, unknown>[];
    const of = (name: string) => json.find((r) => r.name === name)!;
    expect([of('target').forget_clear_code, of('gold').forget_clear_code, of('ga-lr1e-5').forget_clear_code]).toEqual([0.0412, 0.2083, null]);
    const csv = renderCsv(lb, { relativeTo: RUN }).split('\r\n');
    const col = csv[0].split(',').indexOf('forget_clear_code');
    expect(col).toBeGreaterThan(0);
    expect(csv.find((l) => l.startsWith('clear,forget10,target,'))!.split(',')[col]).toBe('0.0412');
    const md = renderMarkdown(lb, { relativeTo: '/' });
    expect(md).not.toContain('0.041');
    expect(md).not.toContain('Forget (CLEAR code)');
  });
});
