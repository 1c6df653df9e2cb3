/**
 * Parquet shards in the hub's layout: read with hyparquet (+ hyparquet-compressors for
 * zstd/gzip/brotli shards written by pyarrow), written with hyparquet-writer using the
 * same physical schema pyarrow gives the HF `Image` feature and `sequence: string`.
 */
import { readFileSync } from 'node:fs';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { FileMetaData, SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { kindOfParquetColumn } from './schema.ts';
import type { ColumnSpec } from './schema.ts';

const CORRUPT_HINT = 'the file is damaged: delete it and run `clearbench download` again';

function parseMetadata(file: string, buf: ArrayBuffer): FileMetaData {
  try {
    return parquetMetadata(buf);
  } catch (err) {
    throw new UserError(`${file} is not a readable parquet file (${(err as Error).message}); ${CORRUPT_HINT}`);
  }
}

/** Check the file has every column of `columns` with the right kind; name the file and column if not. */
export function checkParquetColumns(file: string, metadata: FileMetaData, columns: readonly ColumnSpec[]): void {
  const tree = parquetSchema(metadata);
  const byName = new Map<string, SchemaTree>(tree.children.map((c) => [c.element.name, c]));
  const missing = columns.filter((c) => !byName.has(c.name)).map((c) => c.name);
  if (missing.length) {
    throw new UserError(
      `${file} lacks column(s) ${missing.join(', ')} (has ${[...byName.keys()].join(', ')}); ` +
        'this config does not have the layout of docs/SPEC.md §2.1: re-download it or regenerate it with `clearbench synth`',
    );
  }
  for (const c of columns) {
    const kind = kindOfParquetColumn(byName.get(c.name)!);
    if (kind !== c.kind) {
      throw new UserError(`${file}: column ${c.name} holds ${kind}, expected ${c.kind}; re-download or regenerate the dataset`);
    }
  }
}

function describe(v: unknown): string {
  return v === null || v === undefined ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
}

/** Turn one raw hyparquet value into the typed cell of `spec`, or explain what is wrong with it. */
function cell(spec: ColumnSpec, v: unknown): unknown {
  if (v === null || v === undefined) {
    if (spec.nullable) return null;
    throw new Error(`column ${spec.name} is null`);
  }
  switch (spec.kind) {
    case 'string':
      if (typeof v !== 'string') throw new Error(`column ${spec.name} holds ${describe(v)}, expected a string`);
      return v;
    case 'strings':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
        throw new Error(`column ${spec.name} must be a list of strings`);
      }
      return v;
    case 'image': {
      const o = v as { bytes?: unknown; path?: unknown };
      if (o.bytes === null || o.bytes === undefined) {
        if (spec.nullable) return null;
        throw new Error(`column image has no bytes`);
      }
      if (!(o.bytes instanceof Uint8Array)) throw new Error(`column image bytes is ${describe(o.bytes)}`);
      return { bytes: o.bytes, path: typeof o.path === 'string' ? o.path : null };
    }
  }
}

/**
 * Read the rows of one parquet shard, keeping only `columns` and checking each value.
 * Errors name the file, and the row for a bad value.
 */
export async function readParquetRows<T>(file: string, columns: readonly ColumnSpec[]): Promise<T[]> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parseMetadata(file, buf);
  checkParquetColumns(file, metadata, columns);
  let raw: Record<string, unknown>[];
  try {
    raw = (await parquetReadObjects({
      file: buf,
      metadata,
      columns: columns.map((c) => c.name),
      compressors,
      // Keep un-annotated binary (the image bytes) as Uint8Array; UTF8 columns still decode to strings.
      utf8: false,
    })) as Record<string, unknown>[];
  } catch (err) {
    throw new UserError(`${file}: cannot decode its pages (${(err as Error).message}); ${CORRUPT_HINT}`);
  }
  return raw.map((r, i) => {
    const out: Record<string, unknown> = {};
    for (const c of columns) {
      try {
        out[c.name] = cell(c, r[c.name]);
      } catch (err) {
        throw new UserError(`${file}, row ${i}: ${(err as Error).message}`);
      }
    }
    return out as T;
  });
}

// ---- writing ----

function schemaElements(c: ColumnSpec): SchemaElement[] {
  switch (c.kind) {
    case 'string':
      return [{ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' }];
    case 'strings':
      return [
        { name: c.name, converted_type: 'LIST', logical_type: { type: 'LIST' }, repetition_type: 'OPTIONAL', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' },
      ];
    case 'image':
      return [
        { name: c.name, repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
        { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' },
      ];
  }
}

/** The `huggingface` key-value metadata the `datasets` library writes, so tools see HF features. */
function hfFeatures(columns: readonly ColumnSpec[]): string {
  const features: Record<string, unknown> = {};
  for (const c of columns) {
    const value = { dtype: 'string', _type: 'Value' };
    features[c.name] = c.kind === 'image' ? { _type: 'Image' } : c.kind === 'strings' ? { feature: value, _type: 'Sequence' } : value;
  }
  return JSON.stringify({ info: { features } });
}

/** Encode rows as a parquet shard with the hub's physical schema (deterministic bytes). */
export function encodeParquet(columns: readonly ColumnSpec[], rows: readonly Record<string, unknown>[]): Uint8Array {
  const schema: SchemaElement[] = [{ name: 'schema', num_children: columns.length }, ...columns.flatMap(schemaElements)];
  const columnData = columns.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name] ?? null) }));
  const buf = parquetWriteBuffer({
    columnData,
    schema,
    kvMetadata: [{ key: 'huggingface', value: hfFeatures(columns) }],
    createdBy: 'clearbench synth',
    // Image bytes are already PNG-compressed; statistics on them are useless.
    statistics: false,
    rowGroupSize: 1000,
  });
  return new Uint8Array(buf);
}

export function writeParquetFile(path: string, columns: readonly ColumnSpec[], rows: readonly Record<string, unknown>[]): void {
  writeFileAtomic(path, encodeParquet(columns, rows));
}
