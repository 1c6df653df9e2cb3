/**
 * Vega-Lite specs of the report's charts, built from a leaderboard:
 *  - forget quality against model utility, one point per row (seed means with 95 % bars),
 *    base/target/gold drawn with their own shapes and labelled;
 *  - per-task bars (Prob, ROUGE-L recall, Truth ratio per task and model);
 *  - training-loss curves from train_log.jsonl, one panel per method;
 *  - Forget on image and text tasks per unlearning modality (data from modality.ts).
 * Each model keeps one colour across all charts.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrainCurve } from '../collect.ts';
import type { LeaderboardRow } from '../group.ts';
import type { Leaderboard, Section } from '../leaderboard.ts';
import { TASK_QUANTITIES, type TaskQuantity } from '../metrics.ts';
import { TASK_KINDS, type ModalityComparison } from './modality.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

const ROLE_COLORS: Record<string, string> = { base: '#8a94a6', target: '#c8102e', gold: '#c99700' };
/** Colour-blind-friendly hues that do not clash with the reference colours above. */
const METHOD_PALETTE = ['#2f6db5', '#e07b1a', '#2a9d8f', '#7b4fa6', '#5c9e31', '#d45d9e', '#1b9ac2', '#8c6d46', '#4b5fd1', '#b5482f'];

const ROLE_SHAPES = { base: 'triangle-up', target: 'square', gold: 'diamond', unlearned: 'circle' } as const;

const TASK_LABELS: Record<string, string> = {
  forget: 'Forget', retain: 'Retain', forget_facerec: 'Forget FaceRec', retain_facerec: 'Retain FaceRec',
  real_faces: 'Real Faces', real_world: 'Real World',
  tofu_forget: 'TOFU Forget', tofu_retain: 'TOFU Retain', real_authors: 'Real Authors', world_facts: 'World Facts',
};
const QUANTITY_LABELS: Record<TaskQuantity, string> = { prob: 'Prob', rougeL_recall: 'ROUGE-L recall', truth_ratio: 'Truth ratio' };

/** One colour per row name over the whole leaderboard, reference roles fixed. */
export function modelColors(lb: Leaderboard): Map<string, string> {
  const colors = new Map<string, string>();
  let next = 0;
  for (const row of lb.sections.flatMap((s) => s.rows)) {
    if (colors.has(row.name)) continue;
    colors.set(row.name, ROLE_COLORS[row.role] ?? METHOD_PALETTE[next++ % METHOD_PALETTE.length]);
  }
  return colors;
}

/** A colour scale restricted to the names a chart shows, so its legend lists only those. */
function colorScale(names: string[], colors: Map<string, string>): { domain: string[]; range: string[] } {
  const domain = [...new Set(names)];
  return { domain, range: domain.map((n) => colors.get(n) ?? '#555555') };
}

function taskLabel(task: string): string {
  return TASK_LABELS[task] ?? task;
}

function bounds(mean: number | null, ci95: number | null): [number | null, number | null] {
  return mean === null || ci95 === null ? [null, null] : [mean - ci95, mean + ci95];
}

export function scatterSpec(section: Section, colors: Map<string, string>): TopLevelSpec | null {
  const points = section.rows
    .filter((r) => r.values.model_utility.mean !== null && r.values.forget_quality_js.mean !== null)
    .map((r) => {
      const mu = r.values.model_utility;
      const fq = r.values.forget_quality_js;
      const [muLo, muHi] = bounds(mu.mean, mu.ci95);
      const [fqLo, fqHi] = bounds(fq.mean, fq.ci95);
      return { name: r.name, role: r.role, mu: mu.mean, mu_lo: muLo, mu_hi: muHi, fq: fq.mean, fq_lo: fqLo, fq_hi: fqHi };
    });
  if (points.length === 0) return null;
  const roles = (Object.keys(ROLE_SHAPES) as (keyof typeof ROLE_SHAPES)[]).filter((r) => points.some((p) => p.role === r));
  const scale = colorScale(points.map((p) => p.name), colors);
  // The same definition on every layer, so the layers share one colour legend.
  const color = { field: 'name', type: 'nominal', title: 'Model', scale, legend: { orient: 'right', symbolType: 'circle' } } as const;
  const x = { field: 'mu', type: 'quantitative', title: 'Model utility →', scale: { zero: false, nice: true, padding: 24 } } as const;
  const y = { field: 'fq', type: 'quantitative', title: 'Forget quality (1 − JS distance) →', scale: { zero: false, nice: true, padding: 24 } } as const;
  return {
    $schema: SCHEMA,
    width: 330,
    height: 330,
    data: { values: points },
    layer: [
      {
        transform: [{ filter: 'datum.mu_lo != null' }],
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.8 },
        encoding: { x: { field: 'mu_lo', type: 'quantitative' }, x2: { field: 'mu_hi' }, y: { field: 'fq', type: 'quantitative' }, color },
      },
      {
        transform: [{ filter: 'datum.fq_lo != null' }],
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.8 },
        encoding: { x: { field: 'mu', type: 'quantitative' }, y: { field: 'fq_lo', type: 'quantitative' }, y2: { field: 'fq_hi' }, color },
      },
      {
        mark: { type: 'point', filled: true, size: 150, opacity: 1, stroke: '#ffffff', strokeWidth: 1.2 },
        encoding: {
          x, y,
          color,
          shape: {
            field: 'role', type: 'nominal', title: 'Role',
            scale: { domain: roles, range: roles.map((r) => ROLE_SHAPES[r]) },
            legend: { orient: 'bottom', direction: 'horizontal', symbolFillColor: '#4a5565', symbolStrokeColor: '#4a5565' },
          },
        },
      },
      {
        // Only the reference points are labelled: unlearned points are often close together
        // and would overlap; the colour legend names them.
        transform: [{ filter: "datum.role != 'unlearned'" }],
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 8, dy: -4, fontSize: 11, fontWeight: 600 },
        encoding: { x, y, text: { field: 'name' }, color },
      },
    ],
  } as TopLevelSpec;
}

function taskOrder(rows: LeaderboardRow[]): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r.tasks)));
  const known = Object.keys(TASK_LABELS).filter((t) => present.has(t));
  const other = [...present].filter((t) => !(t in TASK_LABELS)).sort();
  return [...known, ...other];
}

export function taskBarsSpec(section: Section, colors: Map<string, string>): TopLevelSpec | null {
  const tasks = taskOrder(section.rows);
  const bars = section.rows.flatMap((r) =>
    tasks.flatMap((t) =>
      TASK_QUANTITIES.flatMap((q) => {
        const s = r.tasks[t]?.[q];
        if (!s || s.mean === null) return [];
        const [lo, hi] = bounds(s.mean, s.ci95);
        return [{ model: r.name, task: taskLabel(t), quantity: QUANTITY_LABELS[q], value: s.mean, lo, hi }];
      }),
    ),
  );
  if (bars.length === 0) return null;
  const models = section.rows.map((r) => r.name);
  const xEnc = { field: 'task', type: 'nominal', sort: tasks.map(taskLabel), title: null, axis: { labelAngle: 0, labelPadding: 6 } } as const;
  const offset = { field: 'model', type: 'nominal', sort: models } as const;
  return {
    $schema: SCHEMA,
    data: { values: bars },
    facet: {
      row: {
        field: 'quantity', type: 'nominal', title: null, sort: TASK_QUANTITIES.map((q) => QUANTITY_LABELS[q]),
        header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelPadding: 4 },
      },
    },
    spacing: 14,
    spec: {
      width: Math.max(520, tasks.length * models.length * 14),
      height: 130,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: xEnc,
            xOffset: offset,
            y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { tickCount: 4 } },
            color: { field: 'model', type: 'nominal', title: 'Model', scale: colorScale(models, colors), legend: { orient: 'right' } },
          },
        },
        {
          transform: [{ filter: 'datum.lo != null' }],
          mark: { type: 'rule', color: '#1f2733', strokeWidth: 1 },
          encoding: { x: xEnc, xOffset: offset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        },
      ],
    },
  } as TopLevelSpec;
}

/** Keeps at most `max` points of a curve (every k-th and the last), so long runs stay light. */
function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const k = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % k === 0 || i === xs.length - 1);
}

/** The row that shows a curve's model (first section holding it), or undefined when the model is not in the tables. */
function rowOfCurve(lb: Leaderboard, curve: TrainCurve): LeaderboardRow | undefined {
  for (const s of lb.sections) {
    const row = s.rows.find((r) => r.members.some((e) => e.runDir === curve.runDir && e.meta.name === curve.meta.name));
    if (row) return row;
  }
  return undefined;
}

export function lossCurvesSpec(lb: Leaderboard, colors: Map<string, string>): TopLevelSpec | null {
  const panels: string[] = [];
  const points: { panel: string; model: string; run: string; step: number; loss: number; phase: string }[] = [];
  const ordered = lb.sections.flatMap((s) => s.rows);
  const curves = lb.curves
    .map((c) => ({ c, row: rowOfCurve(lb, c) }))
    .filter((x): x is { c: TrainCurve; row: LeaderboardRow } => x.row !== undefined)
    .sort((a, b) => ordered.indexOf(a.row) - ordered.indexOf(b.row));
  let phased = false;
  for (const { c, row } of curves) {
    // Reference models were fine-tuned, not unlearned: they get panels of their own.
    const panel = row.method ?? `${row.role} (fine-tune)`;
    if (!panels.includes(panel)) panels.push(panel);
    // Identifies one training run within the page (no absolute paths in the output).
    const run = `${c.meta.name}@${lb.runDirs.indexOf(c.runDir)}`;
    for (const e of thin(c.entries.filter((e) => e.loss !== null), 400)) {
      if (e.phase !== null) phased = true;
      points.push({ panel, model: row.name, run, step: e.step, loss: e.loss as number, phase: e.phase ?? 'train' });
    }
  }
  if (points.length === 0) return null;
  return {
    $schema: SCHEMA,
    data: { values: points },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelAnchor: 'start' } },
    columns: Math.min(3, panels.length),
    spacing: { row: 18, column: 22 },
    spec: {
      width: 250,
      height: 160,
      mark: { type: 'line', strokeWidth: 1.8, interpolate: 'monotone' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step', axis: { tickCount: 5 } },
        y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false }, axis: { tickCount: 5 } },
        color: { field: 'model', type: 'nominal', title: 'Model', scale: colorScale(points.map((p) => p.model), colors) },
        detail: { field: 'run', type: 'nominal' },
        ...(phased ? { strokeDash: { field: 'phase', type: 'nominal', title: 'Phase' } } : {}),
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as TopLevelSpec;
}

/**
 * Grouped bars: per model (target, each configuration's modalities, gold) the Forget of the image tasks and
 * of the text tasks side by side, coloured by task kind; reference models drawn lighter; 95 % bars over seeds.
 */
export function modalitySpec(c: ModalityComparison): TopLevelSpec {
  const models = [...new Set(c.bars.map((b) => b.model))];
  const kinds = TASK_KINDS.map((k) => k.label);
  const x = { field: 'model', type: 'nominal', sort: models, title: null, axis: { labelAngle: 0, labelPadding: 6, labelLimit: 140 } } as const;
  const xOffset = { field: 'kind', type: 'nominal', sort: kinds } as const;
  return {
    $schema: SCHEMA,
    data: { values: c.bars },
    width: Math.max(420, models.length * 72),
    height: 170,
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x, xOffset,
          y: { field: 'forget', type: 'quantitative', title: 'Forget (lower = more forgotten)', scale: { domain: [0, 1] }, axis: { tickCount: 5 } },
          color: {
            field: 'kind', type: 'nominal', title: 'Forget measured on', sort: kinds,
            // The first two method hues, so the kinds read as data, not as the target/gold reference colours.
            scale: { domain: kinds, range: METHOD_PALETTE.slice(0, kinds.length) }, legend: { orient: 'right', labelLimit: 220 },
          },
          opacity: { condition: { test: 'datum.reference', value: 0.5 }, value: 1 },
        },
      },
      {
        transform: [{ filter: 'datum.lo != null' }],
        mark: { type: 'rule', color: '#1f2733', strokeWidth: 1 },
        encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
    ],
  } as TopLevelSpec;
}
