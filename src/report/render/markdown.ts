/** GitHub-flavoured Markdown: one table per benchmark and forget split, then a legend. */
import type { Leaderboard } from '../leaderboard.ts';
import { ARROWS, formatHyperparameters, formatStat, incompleteNote, relativePath, seedCount, sectionTitle } from '../format.ts';
import { TABLE_METRICS, metricByKey } from '../metrics.ts';
import { dataNoteText, noteRun, runDataNotes } from '../provenance.ts';

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export interface MarkdownOptions {
  /** Directory the incomplete-run note's run paths are relative to. */
  relativeTo: string;
}

export function renderMarkdown(lb: Leaderboard, options: MarkdownOptions): string {
  const out: string[] = [];
  const header = ['Model', 'Role', 'Method', 'Seeds', ...TABLE_METRICS.map((m) => `${m.label} ${ARROWS[m.direction]}`), 'Hyperparameters'];
  const align = ['---', '---', '---', '---', ...TABLE_METRICS.map(() => '--:'), '---'];

  for (const section of lb.sections) {
    out.push(`## ${sectionTitle(section.benchmark, section.forget_split)}`, '');
    out.push(`| ${header.join(' | ')} |`, `|${align.join('|')}|`);
    for (const row of section.rows) {
      const metrics = TABLE_METRICS.map((m) => {
        const f = formatStat(m, row.values[m.key]);
        if (!f) return '—';
        const mean = row.best.includes(m.key) ? `**${f.mean}**` : f.mean;
        return f.ci95 === null ? mean : `${mean} ± ${f.ci95}`;
      });
      const cells = [row.name, row.role, row.method ?? '—', seedCount(row), ...metrics, formatHyperparameters(row.hyperparameters) || '—'];
      out.push(`| ${cells.map(cell).join(' | ')} |`);
    }
    out.push('');
  }

  for (const n of runDataNotes(lb)) {
    const run = noteRun(lb, n, options.relativeTo);
    out.push(`**Data**${run ? ` \`${cell(run)}\`` : ''}: ${cell(dataNoteText(n))}.`, '');
  }
  for (const i of lb.incomplete) out.push(`**Incomplete run** \`${cell(relativePath(options.relativeTo, i.runDir))}\`: ${cell(incompleteNote(i))}.`, '');
  const sortLabel = metricByKey(lb.sortKey)?.label ?? 'name';
  out.push(
    `Seeds: how many seeds a row averages. Means ± 95 % interval (Student t over seeds) where a row collapses several seeds. **Bold**: best unlearned model in the column. ` +
      `↑ higher is better, ↓ lower is better, →0 closest to zero is best. Unlearned models sorted by ${sortLabel}.`,
    '',
  );
  for (const m of TABLE_METRICS) out.push(`- **${m.label}**: ${m.description}.`);
  out.push('');
  return out.join('\n');
}
