/**
 * CLEAR's headline comparison as chart data: for every method unlearned with more than one modality (text,
 * vision, joint), its Forget on the image tasks (benchmark `clear`) and on the text tasks (`tofu`) per
 * modality, beside target's and gold's. Lower Forget = more forgotten.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { LeaderboardRow } from '../group.ts';
import type { Leaderboard, Section } from '../leaderboard.ts';
import { MODALITIES } from '../../protocol/vocabulary.ts';

/** The benchmark whose forget tasks are image tasks, and the one whose are text tasks. */
const TASK_KINDS = [
  { benchmark: 'clear', label: 'image tasks (clear)' },
  { benchmark: 'tofu', label: 'text tasks (tofu)' },
] as const;

export interface ModalityBar {
  /** "npo · text", or a reference model's name. */
  model: string;
  kind: (typeof TASK_KINDS)[number]['label'];
  forget: number;
}

export interface ModalityComparison {
  forgetSplit: string;
  bars: ModalityBar[];
  /** Task kinds with no section for this split (their bars are absent). */
  missing: string[];
}

const forgetOf = (r: LeaderboardRow | undefined): number | null => r?.values.forget?.mean ?? null;

/** One comparison per forget split that has a method with several modalities; empty when none has. */
export function modalityComparisons(lb: Leaderboard): ModalityComparison[] {
  const out: ModalityComparison[] = [];
  for (const split of [...new Set(lb.sections.map((s) => s.forget_split))]) {
    const sections = TASK_KINDS.map((k) => ({ ...k, section: lb.sections.find((s) => s.benchmark === k.benchmark && s.forget_split === split) }));
    const present = sections.filter((k): k is typeof k & { section: Section } => k.section !== undefined);
    const unlearned = present.flatMap((k) => k.section.rows).filter((r) => r.role === 'unlearned' && r.method && r.modality);
    const methods = [...new Set(unlearned.map((r) => r.method!))].filter((m) => new Set(unlearned.filter((r) => r.method === m).map((r) => r.modality)).size > 1);
    if (!methods.length) continue;
    const bars: ModalityBar[] = [];
    const add = (model: string, pick: (rows: LeaderboardRow[]) => LeaderboardRow | undefined) => {
      for (const k of present) {
        const v = forgetOf(pick(k.section.rows));
        if (v !== null) bars.push({ model, kind: k.label, forget: v });
      }
    };
    add('target', (rows) => rows.find((r) => r.role === 'target'));
    for (const m of methods) {
      for (const modality of MODALITIES) add(`${m} · ${modality}`, (rows) => rows.find((r) => r.role === 'unlearned' && r.method === m && r.modality === modality));
    }
    add('gold', (rows) => rows.find((r) => r.role === 'gold'));
    out.push({ forgetSplit: split, bars, missing: sections.filter((k) => !k.section).map((k) => k.label) });
  }
  return out;
}

export function modalitySpec(c: ModalityComparison): TopLevelSpec {
  const models = [...new Set(c.bars.map((b) => b.model))];
  const x = { field: 'model', type: 'nominal', sort: models, title: null, axis: { labelAngle: 0, labelPadding: 6 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: c.bars },
    width: Math.max(420, models.length * 64),
    height: 170,
    mark: { type: 'bar' },
    encoding: {
      x,
      xOffset: { field: 'kind', type: 'nominal', sort: TASK_KINDS.map((k) => k.label) },
      y: { field: 'forget', type: 'quantitative', title: 'Forget (lower = more forgotten)', scale: { domain: [0, 1] }, axis: { tickCount: 5 } },
      color: { field: 'kind', type: 'nominal', title: 'Forget measured on', sort: TASK_KINDS.map((k) => k.label), scale: { range: ['#2f6db5', '#e07b1a'] }, legend: { orient: 'right', labelLimit: 220 } },
    },
  } as TopLevelSpec;
}
