/**
 * Column kinds and typed rows of the CLEAR and TOFU configs (docs/SPEC.md §2.1), plus the check that
 * a parquet file's schema carries the columns a config needs.
 */
import type { SchemaTree } from 'hyparquet';

/** The HF `Image` feature: parquet struct<bytes: binary, path: string>; `path` may be null. */
export interface ImageCell {
  bytes: Uint8Array;
  path: string | null;
}

/** image = HF Image struct, string = utf8 byte array, strings = list<string> (HF `sequence: string`). */
export type ColumnKind = 'image' | 'string' | 'strings';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  /** +tofu rows are either image rows or text rows, so their columns may be null. */
  nullable?: boolean;
}

export type Family = 'clear' | 'tofu';

// ---- CLEAR rows ----
export interface DefaultRow { image: ImageCell; caption: string }
export interface CaptionRow { image: ImageCell; caption: string; name: string }
export interface PerturbedCaptionRow extends CaptionRow {
  paraphrased_caption: string;
  perturbed_captions: string[];
  perturbed_names: string[];
}
/** A `+tofu` (or `pretrain`) row: an image row (image + caption) or a text row (question + answer). */
export interface MixedRow {
  image: ImageCell | null;
  caption: string | null;
  question: string | null;
  answer: string | null;
}
export interface RealFacesRow { image: ImageCell; answer: string; options: string[] }
export interface RealWorldRow { image: ImageCell; question: string; answer: string; options: string[] }

// ---- TOFU rows ----
export interface QaRow { question: string; answer: string }
export interface PerturbedQaRow extends QaRow {
  paraphrased_answer: string;
  paraphrased_question: string;
  perturbed_answer: string[];
}
export interface UtilityQaRow extends QaRow { perturbed_answer: string[] }

export type ClearRow = DefaultRow | CaptionRow | PerturbedCaptionRow | MixedRow | RealFacesRow | RealWorldRow;
export type TofuRow = QaRow | PerturbedQaRow | UtilityQaRow;
export type Row = ClearRow | TofuRow;

/** The row type of a CLEAR config, from its name. */
export type ClearRowFor<N extends string> = N extends `${string}+tofu` | 'pretrain'
  ? MixedRow
  : N extends 'real_faces'
    ? RealFacesRow
    : N extends 'real_world'
      ? RealWorldRow
      : N extends `${string}_perturbed`
        ? PerturbedCaptionRow
        : N extends 'default'
          ? DefaultRow
          : CaptionRow;

/** The row type of a TOFU config, from its name. */
export type TofuRowFor<N extends string> = N extends 'real_authors_perturbed' | 'world_facts_perturbed'
  ? UtilityQaRow
  : N extends `${string}_perturbed`
    ? PerturbedQaRow
    : QaRow;

const s = (name: string, nullable = false): ColumnSpec => ({ name, kind: 'string', nullable });
const img = (nullable = false): ColumnSpec => ({ name: 'image', kind: 'image', nullable });
const list = (name: string): ColumnSpec => ({ name, kind: 'strings' });

export const CLEAR_COLUMNS = {
  default: [img(), s('caption')],
  caption: [img(), s('caption'), s('name')],
  perturbed: [img(), s('caption'), s('name'), s('paraphrased_caption'), list('perturbed_captions'), list('perturbed_names')],
  mixed: [img(true), s('caption', true), s('question', true), s('answer', true)],
  real_faces: [img(), s('answer'), list('options')],
  real_world: [img(), s('question'), s('answer'), list('options')],
} as const satisfies Record<string, readonly ColumnSpec[]>;

export const TOFU_COLUMNS = {
  qa: [s('question'), s('answer')],
  perturbed: [s('question'), s('answer'), s('paraphrased_answer'), s('paraphrased_question'), list('perturbed_answer')],
  utility: [s('question'), s('answer'), list('perturbed_answer')],
} as const satisfies Record<string, readonly ColumnSpec[]>;

/** The columns a config must have, decided by its name as on the hub. */
export function columnsFor(family: Family, config: string): readonly ColumnSpec[] {
  if (family === 'tofu') {
    if (config === 'real_authors_perturbed' || config === 'world_facts_perturbed') return TOFU_COLUMNS.utility;
    if (config.endsWith('_perturbed')) return TOFU_COLUMNS.perturbed;
    return TOFU_COLUMNS.qa;
  }
  if (config.endsWith('+tofu') || config === 'pretrain') return CLEAR_COLUMNS.mixed;
  if (config === 'real_faces') return CLEAR_COLUMNS.real_faces;
  if (config === 'real_world') return CLEAR_COLUMNS.real_world;
  if (config.endsWith('_perturbed')) return CLEAR_COLUMNS.perturbed;
  if (config === 'default') return CLEAR_COLUMNS.default;
  return CLEAR_COLUMNS.caption;
}

/** What kind of column a parquet schema node holds, or a reason it holds none we know. */
export function kindOfParquetColumn(node: SchemaTree): ColumnKind | 'other' {
  const el = node.element;
  if (!node.children.length) return el.type === 'BYTE_ARRAY' ? 'string' : 'other';
  const isList = el.converted_type === 'LIST' || el.logical_type?.type === 'LIST';
  if (isList) {
    // 3-level list (pyarrow): <name> (LIST) / repeated group list / element; 2-level: repeated leaf.
    let leaf: SchemaTree = node.children[0];
    while (leaf.children.length === 1) leaf = leaf.children[0];
    return !leaf.children.length && leaf.element.type === 'BYTE_ARRAY' ? 'strings' : 'other';
  }
  const bytes = node.children.find((c) => c.element.name === 'bytes');
  if (bytes && !bytes.children.length && bytes.element.type === 'BYTE_ARRAY') return 'image';
  return 'other';
}

/** Kind of a value read from JSON (TOFU's json files), used to check text configs. */
export function kindOfJsonValue(v: unknown): ColumnKind | 'null' | 'other' {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return 'strings';
  return 'other';
}
