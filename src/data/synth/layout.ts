/**
 * The synthetic dataset in the layout of the real repositories (therem/CLEAR and locuslab/TOFU on the hub,
 * as their cards describe them; docs/SPEC.md §2.1): no `pretrain` and no `holdout_perturbed` (real CLEAR
 * has neither), `default` in two shards under `data/`, real_world with the hub's extra `prompt` column, the
 * perturbed configs' columns in another order per config, and TOFU's `holdout01/05/10` (question, answer)
 * instead of `holdout_perturbed`. The loader must read this exactly as it reads the built-in layout.
 */
import { CLEAR_COLUMNS, type ColumnSpec, columnsFor } from '../schema.ts';

export type SynthLayout = 'clearbench' | 'hub';

const byName = (columns: readonly ColumnSpec[], order: readonly string[]): ColumnSpec[] =>
  order.map((name) => columns.find((c) => c.name === name)!);

/** The hub's column orders, which differ between configs (a reader must not depend on them). */
const HUB_COLUMNS: Record<string, readonly ColumnSpec[]> = {
  forget01_perturbed: byName(CLEAR_COLUMNS.perturbed, ['name', 'image', 'perturbed_names', 'caption', 'paraphrased_caption', 'perturbed_captions']),
  forget05_perturbed: byName(CLEAR_COLUMNS.perturbed, ['caption', 'image', 'name', 'perturbed_captions', 'paraphrased_caption', 'perturbed_names']),
  forget10_perturbed: byName(CLEAR_COLUMNS.perturbed, ['image', 'name', 'caption', 'perturbed_names', 'perturbed_captions', 'paraphrased_caption']),
  retain_perturbed: byName(CLEAR_COLUMNS.perturbed, ['image', 'caption', 'name', 'perturbed_captions', 'paraphrased_caption', 'perturbed_names']),
  // real_world: question, answer, image, prompt, options (prompt is a column the protocol does not read).
  real_world: [...byName(CLEAR_COLUMNS.real_world, ['question', 'answer', 'image']), { name: 'prompt', kind: 'string' }, ...byName(CLEAR_COLUMNS.real_world, ['options'])],
};

/** The columns written for a CLEAR config, in file order. */
export function clearColumnsFor(layout: SynthLayout, config: string): readonly ColumnSpec[] {
  return (layout === 'hub' && HUB_COLUMNS[config]) || columnsFor('clear', config);
}

/** The shards of a config's rows: one, except the hub's `default`, which has two. */
export function shardsOf<T>(layout: SynthLayout, config: string, rows: readonly T[]): T[][] {
  if (layout !== 'hub' || config !== 'default' || rows.length < 2) return [[...rows]];
  const half = Math.ceil(rows.length / 2);
  return [rows.slice(0, half), rows.slice(half)];
}

/** The multiple-choice prompt of a real_world row, as the hub's extra column holds one. */
function realWorldPrompt(row: Record<string, unknown>): string {
  const options = [row.answer, ...(row.options as string[])].map(String).sort();
  return `${String(row.question)} Options: ${options.join(', ')}.`;
}

/**
 * Turn the built-in config sets into the hub's, in place. `holdout(n)` gives the QA rows of the first n
 * held-out persons; TOFU's holdoutNN has as many persons as forgetNN (at most the held-out persons).
 */
export function toHubLayout(
  clear: Record<string, Record<string, unknown>[]>,
  tofu: Record<string, Record<string, unknown>[]>,
  held: { holdout: (persons: number) => Record<string, unknown>[]; counts: Record<'01' | '05' | '10', number> },
): void {
  delete clear.pretrain;
  delete clear.holdout_perturbed;
  delete tofu.holdout_perturbed;
  clear.real_world = clear.real_world.map((r) => ({ ...r, prompt: realWorldPrompt(r) }));
  for (const nn of ['01', '05', '10'] as const) tofu[`holdout${nn}`] = held.holdout(held.counts[nn]);
}
