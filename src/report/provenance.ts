/**
 * What the tables' footnotes say about the data of each run: the repositories and commits (or the synthetic
 * generator's sizes), what the base model trained on, and why privacy is empty where it is — read from the
 * summaries' `data` and `privacy_reason`, so a reader knows exactly which data a table came from.
 */
import { baseNote, type DataProvenance, type RepoProvenance } from '../results/contract.ts';
import type { Leaderboard } from './leaderboard.ts';
import { relativePath } from './format.ts';

export interface RunDataNote {
  runDir: string;
  /** null: the run's summaries predate provenance. */
  data: DataProvenance | null;
  /** "clear: no held-out persons in this dataset (none of holdout_perturbed)", one per benchmark where privacy is empty. */
  privacy: string[];
}

/** One note per run directory that has evaluations, in the leaderboard's run order. */
export function runDataNotes(lb: Leaderboard): RunDataNote[] {
  const notes = new Map<string, RunDataNote>(lb.runDirs.map((r) => [r, { runDir: r, data: null, privacy: [] }]));
  for (const section of lb.sections) {
    for (const row of section.rows) {
      for (const m of row.members) {
        const note = notes.get(m.runDir);
        if (!note) continue;
        note.data ??= m.summary.data;
        const reason = m.summary.privacy_reason && `${section.benchmark}: ${m.summary.privacy_reason}`;
        if (reason && !note.privacy.includes(reason)) note.privacy.push(reason);
      }
    }
  }
  return [...notes.values()].filter((n) => n.data || n.privacy.length);
}

/** The run a note names, relative to `relativeTo`: only when the tables combine several runs. */
export function noteRun(lb: Leaderboard, n: RunDataNote, relativeTo: string): string | null {
  return lb.runDirs.length > 1 ? relativePath(relativeTo, n.runDir) : null;
}

const repo = (r: RepoProvenance) => `${r.repo}@${r.revision} (commit ${r.commit.slice(0, 12)})`;

function source(d: DataProvenance): string {
  if (d.source === 'hub') return [d.clear, d.tofu].filter((r): r is RepoProvenance => r !== null).map(repo).join(' and ');
  if (d.source === 'synthetic') {
    const s = d.synthetic ?? {};
    const layout = s.layout === 'hub' ? ', in the hub layout' : '';
    return `synthetic dataset (${String(s.persons)} persons × ${String(s.images_per_person)} images, seed ${String(s.seed)}${layout})`;
  }
  return 'a local dataset directory';
}

/** The note's sentence, without the run path (renderers put it after "Data"). */
export function dataNoteText(n: RunDataNote): string {
  const parts: string[] = [];
  if (n.data) {
    parts.push(source(n.data));
    parts.push(
      baseNote(n.data) +
        (n.data.base_data === 'emulated' && !n.data.base_model ? ', so the Real columns measure how well a model retains items its base memorised, not pretrained knowledge' : ''),
    );
  }
  if (n.privacy.length) parts.push(`privacy not measured on ${n.privacy.join('; ')}`);
  return parts.join('; ');
}
