/**
 * CLEAR's headline comparison as chart data: for every unlearning configuration run with more than one
 * modality (text, vision, joint), its Forget on the image tasks (benchmark `clear`) and on the text tasks
 * (`tofu`) per modality, beside target's and gold's. Lower Forget = more forgotten. The spec that draws it
 * is modalitySpec in specs.ts.
 */
import type { LeaderboardRow, Stat } from '../group.ts';
import type { Leaderboard, Section } from '../leaderboard.ts';
import { formatHyperparameters } from '../format.ts';
import { MODALITIES } from '../../protocol/vocabulary.ts';

/** The benchmark whose forget tasks are image tasks, and the one whose are text tasks, in bar order. */
export const TASK_KINDS = [
  { benchmark: 'clear', label: 'image tasks (clear)' },
  { benchmark: 'tofu', label: 'text tasks (tofu)' },
] as const;
export type TaskKind = (typeof TASK_KINDS)[number]['label'];

export interface ModalityBar {
  /** "npo · text" (with the configuration's hyperparameters when a method has several), or "target" / "gold". */
  model: string;
  reference: boolean;
  kind: TaskKind;
  /** The row's mean Forget and its 95 % interval (null with one seed). */
  forget: number;
  lo: number | null;
  hi: number | null;
}

export interface ModalityComparison {
  forgetSplit: string;
  /** target, then each configuration's modalities in MODALITIES order, then gold; image before text. */
  bars: ModalityBar[];
  /** Task kinds with no section for this split (none of their bars exist). */
  missing: TaskKind[];
  /** Bars of a present task kind that have no Forget value: "npo · vision on text tasks (tofu)". */
  gaps: string[];
}

/** One unlearning configuration across modalities: method and every other value (modality is one of them). */
interface Configuration {
  method: string;
  /** Its hyperparameters and settings without modality, as a stable "k=v" string. */
  values: string;
}

function configurationOf(r: LeaderboardRow): Configuration {
  const { modality: _m, ...rest } = r.hyperparameters;
  return { method: r.method!, values: formatHyperparameters(rest) };
}

const sameConfiguration = (a: Configuration, b: Configuration) => a.method === b.method && a.values === b.values;

/** The configurations (of unlearned rows with a method and a modality) that were run with several modalities. */
function multiModal(rows: LeaderboardRow[]): Configuration[] {
  const found: { c: Configuration; modalities: Set<string> }[] = [];
  for (const r of rows) {
    if (r.role !== 'unlearned' || !r.method || !r.modality) continue;
    const c = configurationOf(r);
    const known = found.find((f) => sameConfiguration(f.c, c));
    if (known) known.modalities.add(r.modality);
    else found.push({ c, modalities: new Set([r.modality]) });
  }
  return found.filter((f) => f.modalities.size > 1).map((f) => f.c);
}

/** The bar label of a configuration: its method alone, unless the method has several configurations here. */
function labelOf(c: Configuration, all: Configuration[], modality: string): string {
  const siblings = all.filter((o) => o.method === c.method).length;
  return siblings > 1 && c.values ? `${c.method} (${c.values}) · ${modality}` : `${c.method} · ${modality}`;
}

const bar = (model: string, reference: boolean, kind: TaskKind, s: Stat | undefined): ModalityBar | null =>
  s && s.mean !== null
    ? { model, reference, kind, forget: s.mean, lo: s.ci95 === null ? null : s.mean - s.ci95, hi: s.ci95 === null ? null : s.mean + s.ci95 }
    : null;

/** One comparison per forget split that has a configuration with several modalities; empty when none has. */
export function modalityComparisons(lb: Leaderboard): ModalityComparison[] {
  const out: ModalityComparison[] = [];
  for (const split of [...new Set(lb.sections.map((s) => s.forget_split))]) {
    const kinds = TASK_KINDS.map((k) => ({ label: k.label, section: lb.sections.find((s) => s.benchmark === k.benchmark && s.forget_split === split) }));
    const present = kinds.filter((k): k is { label: TaskKind; section: Section } => k.section !== undefined);
    const configurations = multiModal(present.flatMap((k) => k.section.rows));
    if (!configurations.length) continue;

    const bars: ModalityBar[] = [];
    const gaps: string[] = [];
    // A model gets a bar per present task kind; a model with no row in either section is left out (not run).
    const add = (model: string, reference: boolean, pick: (r: LeaderboardRow) => boolean) => {
      const found = present.map((k) => ({ label: k.label, row: k.section.rows.find(pick) }));
      if (found.every((f) => !f.row)) return;
      for (const f of found) {
        const b = bar(model, reference, f.label, f.row?.values.forget);
        if (b) bars.push(b);
        else gaps.push(`${model} on ${f.label}`);
      }
    };
    add('target', true, (r) => r.role === 'target');
    for (const c of configurations) {
      for (const modality of MODALITIES) {
        add(labelOf(c, configurations, modality), false, (r) => r.role === 'unlearned' && r.modality === modality && !!r.method && sameConfiguration(configurationOf(r), c));
      }
    }
    add('gold', true, (r) => r.role === 'gold');
    out.push({ forgetSplit: split, bars, missing: kinds.filter((k) => !k.section).map((k) => k.label), gaps });
  }
  return out;
}
