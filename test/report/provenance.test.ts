/**
 * The tables say which data they came from: the repositories and commits (or the synthetic generator's sizes),
 * what the base trained on (emulated pretraining adds what the Real columns then measure), and why privacy is
 * empty where it is — read from the summaries of a copy of the fixture run, edited to a hub run on the real layout.
 */
import { describe, expect, test } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { renderMarkdown } from '../../src/report/render/markdown.ts';
import { renderHtml } from '../../src/report/render/html.ts';
import { renderLatex } from '../../src/report/render/latex.ts';
import { renderJson } from '../../src/report/render/json.ts';
import { copyRun, editJson, scratchDir } from './fixture-run.ts';

const scratch = scratchDir('provenance');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const HUB = {
  source: 'hub', synthetic: null, base_data: 'emulated',
  clear: { repo: 'therem/CLEAR', revision: 'main', commit: COMMIT, configs: ['full'] },
  tofu: { repo: 'locuslab/TOFU', revision: 'v1', commit: 'f'.repeat(40), configs: ['full'] },
};
/** Every summary.json of a run. */
const summaries = (run: string) =>
  readdirSync(join(run, 'models')).flatMap((m) => {
    const evals = join(run, 'models', m, 'eval');
    try {
      return readdirSync(evals).map((e) => join(evals, e, 'summary.json'));
    } catch {
      return [];
    }
  });
const REASON = 'no held-out persons in this dataset (none of holdout_perturbed)';

/** A copy of the fixture run as a hub run, its privacy unmeasured unless `keepPrivacy`. */
function hubRun(name: string, keepPrivacy = false): string {
  const run = copyRun(scratch, name);
  for (const f of summaries(run)) {
    editJson(f, (o) => {
      o.data = HUB;
      if (!keepPrivacy) Object.assign(o, { privacy: null, privacy_reason: REASON });
    });
  }
  return run;
}

const SENTENCE =
  'therem/CLEAR@main (commit 0123456789ab) and locuslab/TOFU@v1 (commit ffffffffffff); base: emulated pretraining on the utility sets, ' +
  'so the Real columns measure how well a model retains items its base memorised, not pretrained knowledge; ' +
  `privacy not measured on clear: ${REASON}`;

describe('data provenance in the reports', () => {
  test('every format names the commits, the emulated base and the privacy reason', async () => {
    const run = hubRun('hub');
    const lb = buildLeaderboard([run]);
    expect(renderMarkdown(lb, { relativeTo: run })).toContain(`**Data**: ${SENTENCE}.`);
    expect(await renderHtml(lb, { relativeTo: run })).toContain(`<p class="data-note"><b>Data</b>: ${SENTENCE}.</p>`);
    expect(renderLatex(lb)).toContain('Data: therem/CLEAR@main (commit 0123456789ab)');
    const rows = JSON.parse(renderJson(lb, { relativeTo: run }));
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect([r.data, r.privacy_reason, r.privleak]).toEqual([HUB, REASON, null]);
  });

  test('summaries written before provenance existed add no Data note', () => {
    const old = copyRun(scratch, 'old');
    for (const f of summaries(old)) editJson(f, (o) => { delete o.data; });
    expect(renderMarkdown(buildLeaderboard([old]), { relativeTo: old })).not.toContain('**Data**');
  });
});
