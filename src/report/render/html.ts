/**
 * The HTML report: one self-contained page (inline CSS and inline SVG charts rendered at
 * report time, no scripts, a Content-Security-Policy that forbids any network access)
 * with, per benchmark and forget split, highlight cards, the leaderboard table, the
 * forget-quality/model-utility scatter and per-task bars, then training-loss curves.
 */
import { basename } from 'node:path';
import type { Leaderboard, Section } from '../leaderboard.ts';
import type { LeaderboardRow } from '../group.ts';
import { ARROWS, formatHyperparameters, formatNumber, formatSeeds, formatStat, incompleteNote, relativePath, seedCount, sectionTitle } from '../format.ts';
import { KEEP_UTILITY_SHARE, bestAmongUseful } from '../best.ts';
import { TABLE_METRICS, metricByKey, type Metric } from '../metrics.ts';
import { renderSvg } from '../charts/svg.ts';
import { lossCurvesSpec, modalitySpec, modelColors, scatterSpec, taskBarsSpec } from '../charts/specs.ts';
import { TASK_KINDS, modalityComparisons, type ModalityComparison } from '../charts/modality.ts';
import { REPORT_CSS } from './html-style.ts';
import { dataNoteText, noteRun, runDataNotes } from '../provenance.ts';

export interface HtmlOptions {
  /** Directory the run paths shown on the page are relative to (where the file is written). */
  relativeTo: string;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function metricCell(row: LeaderboardRow, m: Metric): string {
  const f = formatStat(m, row.values[m.key]);
  if (!f) return '<td class="num missing">—</td>';
  const best = row.best.includes(m.key);
  const ci = f.ci95 === null ? '' : ` <span class="ci">± ${esc(f.ci95)}</span>`;
  return `<td class="num${best ? ' best' : ''}"${best ? ' title="best unlearned model"' : ''}>${esc(f.mean)}${ci}</td>`;
}

function tableHtml(section: Section): string {
  const head = [
    '<th class="model">Model</th>',
    '<th>Method</th>',
    '<th>Seeds</th>',
    ...TABLE_METRICS.map((m) => `<th class="num" title="${esc(m.description)}">${esc(m.label)}&nbsp;<span class="dir">${ARROWS[m.direction]}</span></th>`),
    '<th>Hyperparameters</th>',
  ].join('');
  const body = section.rows
    .map((row, i) => {
      const firstUnlearned = row.role === 'unlearned' && (i === 0 || section.rows[i - 1].role !== 'unlearned');
      const classes = [row.role === 'unlearned' ? 'unlearned' : 'ref', firstUnlearned ? 'first-unlearned' : ''].filter(Boolean).join(' ');
      const badge = row.role === 'unlearned' ? '' : ` <span class="badge ${row.role}">${row.role}</span>`;
      return (
        `<tr class="${classes}">` +
        `<th scope="row" class="model">${esc(row.name)}${badge}</th>` +
        `<td>${esc(row.method ?? '—')}</td>` +
        `<td class="seeds"${formatSeeds(row) ? ` title="seeds ${esc(formatSeeds(row))}"` : ''}>${esc(seedCount(row))}</td>` +
        TABLE_METRICS.map((m) => metricCell(row, m)).join('') +
        `<td class="hp">${esc(formatHyperparameters(row.hyperparameters) || '—')}</td>` +
        '</tr>'
      );
    })
    .join('\n');
  return `<table class="leaderboard">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function card(key: string, label: string, value: string, model: string, note: string | null): string {
  return (
    `<div class="highlight" data-card="${key}"><div class="hl-label">${esc(label)}</div>` +
    `<div class="hl-value">${esc(value)}</div>` +
    `<div class="hl-model">${esc(model)}</div>` +
    (note ? `<div class="hl-note">${esc(note)}</div>` : '') +
    '</div>'
  );
}

/** Best Forget Quality and best Forget, among the unlearned models that kept most of target's utility. */
function usefulBestCard(section: Section, key: string): string[] {
  const m = metricByKey(key)!;
  const best = bestAmongUseful(section.rows, key);
  if (!best.anyValue) return [];
  const label = `Best ${m.label.toLowerCase()} ${ARROWS[m.direction]}`;
  const share = `${Math.round(KEEP_UTILITY_SHARE * 100)} %`;
  const utility = metricByKey('model_utility')!;
  if (best.floor === null) {
    return [card(key, label, formatNumber(m, best.value as number), best.winners.map((w) => w.name).join(', '), 'no target utility in this table: utility not checked')];
  }
  const floor = formatNumber(utility, best.floor);
  if (best.winners.length === 0) {
    return [card(key, label, '—', `no unlearned model keeps ≥ ${share} of target's utility (≥ ${floor})`, null)];
  }
  return [card(key, label, formatNumber(m, best.value as number), best.winners.map((w) => w.name).join(', '), `among models keeping ≥ ${share} of target's utility (≥ ${floor})`)];
}

/** Headline cards: forget quality and forget among the useful models, the best utility, gold's utility. */
function highlightsHtml(section: Section): string {
  const cards = usefulBestCard(section, 'forget_quality_js');
  const mu = metricByKey('model_utility')!;
  const muWinners = section.rows.filter((r) => r.best.includes('model_utility'));
  if (muWinners.length > 0) {
    cards.push(card('model_utility', `Best ${mu.label.toLowerCase()} ${ARROWS[mu.direction]}`, formatNumber(mu, muWinners[0].values.model_utility.mean as number), muWinners.map((w) => w.name).join(', '), null));
  }
  cards.push(...usefulBestCard(section, 'forget'));
  const gold = section.rows.find((r) => r.role === 'gold');
  if (gold && gold.values.model_utility.mean !== null) {
    cards.push(
      `<div class="highlight ref"><div class="hl-label">Gold model utility</div>` +
        `<div class="hl-value">${esc(formatNumber(metricByKey('model_utility')!, gold.values.model_utility.mean))}</div>` +
        `<div class="hl-model">${esc(gold.name)} (never saw the forget set)</div></div>`,
    );
  }
  return cards.length ? `<div class="highlights">${cards.join('')}</div>` : '';
}

function figure(kind: string, svg: string | null, caption: string, empty: string): string {
  const body = svg ?? `<p class="empty">${esc(empty)}</p>`;
  return `<figure class="card chart" data-chart="${kind}">\n${body}\n<figcaption>${caption}</figcaption>\n</figure>`;
}

const modalityId = (c: ModalityComparison) => `modality-${slug(c.forgetSplit)}`;

/** The modality chart of one forget split, its caption naming what has no value. */
async function modalityHtml(c: ModalityComparison): Promise<string> {
  const shown = TASK_KINDS.map((k) => k.label).filter((k) => !c.missing.includes(k));
  const missing = c.missing.length ? ` No results for the ${c.missing.join(' or ')} in this split: only the ${shown.join(' and ')} are shown.` : '';
  const gaps = c.gaps.length ? ` No Forget value for ${c.gaps.join(', ')}.` : '';
  return (
    `<section class="modality" id="${modalityId(c)}">\n<h2>Forgetting by unlearning modality · ${esc(c.forgetSplit)}</h2>\n` +
    figure(
      'modality',
      c.bars.length ? await renderSvg(modalitySpec(c), `${modalityId(c)}-`) : null,
      '<b>Forget on image tasks and on text tasks</b> for each modality the unlearning saw ' +
        "(text: the forget persons' QA, vision: their image captions, joint: both), beside target and gold (lighter bars); " +
        'lower is more forgotten.' + esc(missing + gaps),
      'No Forget values.',
    ) +
    '\n</section>'
  );
}

export async function renderHtml(lb: Leaderboard, options: HtmlOptions): Promise<string> {
  const colors = modelColors(lb);
  const sections: string[] = [];
  for (const [i, section] of lb.sections.entries()) {
    const id = `s${i}-${slug(`${section.benchmark}-${section.forget_split}`)}`;
    const scatter = scatterSpec(section, colors);
    const bars = taskBarsSpec(section, colors);
    const nUnlearned = section.rows.filter((r) => r.role === 'unlearned').length;
    sections.push(
      `<section class="benchmark" id="${id}">\n` +
        `<h2>${esc(sectionTitle(section.benchmark, section.forget_split))}</h2>\n` +
        `<p class="lede">${section.rows.length} rows: ${section.rows.length - nUnlearned} reference models and ${nUnlearned} unlearned configurations.</p>\n` +
        highlightsHtml(section) +
        `\n<div class="card table-card">\n<div class="table-scroll">\n${tableHtml(section)}\n</div>\n` +
        '<p class="table-note">Seeds: how many seeds a row averages. Means ± 95 % interval (Student <i>t</i> over seeds) where a row collapses several seeds. ' +
        '<b>Bold</b>: best unlearned model in the column. ↑ higher is better, ↓ lower is better, →0 closest to zero is best. ' +
        `Unlearned models sorted by ${esc(metricByKey(lb.sortKey)?.label ?? 'name')}.</p>\n</div>\n` +
        '<div class="chart-row">\n' +
        figure(
          'scatter',
          scatter && (await renderSvg(scatter, `${id}-scatter-`)),
          '<b>Forget quality against model utility.</b> One point per model (seed means with 95 % bars). ' +
            'The ideal unlearned model sits at the gold model (◆): as forgotten as a model never trained on the forget set, as useful as before. ' +
            'Target (■) is the model before unlearning.',
          'No model has both forget quality and model utility.',
        ) +
        '\n' +
        figure(
          'tasks',
          bars && (await renderSvg(bars, `${id}-tasks-`)),
          '<b>Per-task scores.</b> Prob, ROUGE-L recall and Truth ratio for every evaluation task; lower is better on the forget tasks, higher on the others.',
          'No per-task scores in the summaries.',
        ) +
        '\n</div>\n</section>',
    );
  }

  // CLEAR's headline comparison, only where a configuration was unlearned with several modalities.
  const modality = modalityComparisons(lb);
  for (const c of modality) sections.push(await modalityHtml(c));

  const loss = lossCurvesSpec(lb, colors);
  const training =
    '<section class="training" id="training">\n<h2>Training</h2>\n' +
    figure(
      'loss',
      loss && (await renderSvg(loss, 'loss-')),
      '<b>Training loss per method</b> from <code>train_log.jsonl</code>; one line per seed. Gradient-ascent style losses fall below zero by design.',
      'No train_log.jsonl found for the models in the tables.',
    ) +
    '\n</section>';

  const metricsList = TABLE_METRICS.map((m) => `<dt>${esc(m.label)} ${ARROWS[m.direction]}</dt><dd>${esc(m.description)}.</dd>`).join('\n');
  const runs = lb.runDirs
    .map((d) => {
      const rel = relativePath(options.relativeTo, d);
      return rel === '.' ? `<code>${esc(basename(d))}</code> (this directory)` : `<code>${esc(rel)}</code>`;
    })
    .join(', ');
  const pending = lb.unevaluated.length
    ? `<p class="pending">Not evaluated yet, left out: ${lb.unevaluated.map((u) => `<code>${esc(u.modelDir)}</code>`).join(', ')}.</p>`
    : '';
  const incomplete = lb.incomplete
    .map((i) => `<p class="pending"><b>Incomplete run</b> <code>${esc(relativePath(options.relativeTo, i.runDir))}</code>: ${esc(incompleteNote(i))}.</p>`)
    .join('\n');
  const dataNotes = runDataNotes(lb)
    .map((n) => {
      const run = noteRun(lb, n, options.relativeTo);
      return `<p class="data-note"><b>Data</b>${run ? ` <code>${esc(run)}</code>` : ''}: ${esc(dataNoteText(n))}.</p>`;
    })
    .join('\n');
  const nModels = new Set(lb.sections.flatMap((s) => s.rows.flatMap((r) => r.members.map((e) => `${e.runDir}/${e.meta.name}`)))).size;
  const nMethods = new Set(lb.sections.flatMap((s) => s.rows.filter((r) => r.method).map((r) => r.method))).size;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Unlearning leaderboard · clearbench</title>
<style>
${REPORT_CSS}
</style>
</head>
<body>
<header class="hero">
<div class="wrap">
<p class="eyebrow">clearbench · CLEAR machine-unlearning benchmark</p>
<h1>Unlearning leaderboard</h1>
<p class="sub">${nModels} evaluated models · ${nMethods} unlearning methods · ${lb.sections.length} benchmark split${lb.sections.length === 1 ? '' : 's'} · from ${runs}</p>
<nav>${lb.sections.map((s, i) => `<a href="#s${i}-${slug(`${s.benchmark}-${s.forget_split}`)}">${esc(sectionTitle(s.benchmark, s.forget_split))}</a>`).join('')}${modality.map((c) => `<a href="#${modalityId(c)}">Modality · ${esc(c.forgetSplit)}</a>`).join('')}<a href="#training">Training</a><a href="#metrics">Metrics</a></nav>
</div>
</header>
<main class="wrap">
${incomplete}${pending}${dataNotes}
${sections.join('\n')}
${training}
<section class="metrics" id="metrics">
<h2>Metrics</h2>
<dl>
${metricsList}
</dl>
</section>
</main>
<footer class="wrap">Generated by <code>clearbench report</code> from result files only (summary.json, meta.json, train_log.jsonl); rerun it to rebuild this page without a model.</footer>
</body>
</html>
`;
}
