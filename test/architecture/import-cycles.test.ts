/**
 * No import cycle between source folders (scripts/check-import-cycles.ts), and the checker itself on a
 * small tree written to a temp dir: it must see cycles made by static imports, re-exports and dynamic
 * imports, in subfolders and across the top-level folders, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFolderCycles, folderOf, formatCycles } from '../../scripts/check-import-cycles.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the source folders of this repository import each other without a cycle', () => {
  // Compared as text so that a failure names every cycle and the import behind each edge.
  expect(formatCycles(findFolderCycles(repoRoot))).toBe('');
});

test('a folder is a top-level folder of src/, or methods/, benchmarks/, datasets/', () => {
  expect(folderOf('src/eval/metrics/ks.ts')).toBe('src/eval');
  expect(folderOf('src/index.ts')).toBe('src');
  expect(folderOf('methods/ga.ts')).toBe('methods');
  expect(folderOf('benchmarks/sub/x.ts')).toBe('benchmarks');
  expect(folderOf('test/eval/fixture.ts')).toBeNull();
});

describe('on a synthetic tree', () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'clearbench-cycles-'));
    // src/a ⇄ src/b: a static import from a subfolder, a re-export back.
    write('src/a/deep/x.ts', "import { y } from '../../b/y.ts';\nexport const x = y;\n");
    write('src/b/y.ts', "export { z as y } from '../a/z.ts';\n");
    write('src/a/z.ts', "import { u } from '../util/u.ts';\nexport const z = u;\n");
    // benchmarks → src/c → src/d → benchmarks, the last edge a dynamic import only.
    write('benchmarks/one.ts', "import type { C } from '../src/c/c.ts';\nexport type One = C;\n");
    write('src/c/c.ts', "import { d } from '../d/d.ts';\nexport type C = typeof d;\n");
    write('src/d/d.ts', "export const d = 1;\nexport const load = () => import('../../benchmarks/one.ts');\n");
    // Edges that close no cycle: a leaf folder, a package, and mentions in a comment and a string.
    write('src/util/u.ts', "import { readFileSync } from 'node:fs';\n// import('../e/e.ts')\nexport const u = readFileSync.name + \"import('../e/e.ts')\";\n");
    write('src/e/e.ts', "import { u } from '../util/u.ts';\nexport const e = u;\n");
    write('methods/m.ts', "import { e } from '../src/e/e.ts';\nexport const m = e;\n");
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('reports each cycle with one example import per edge, and only the folders in cycles', () => {
    expect(findFolderCycles(root)).toEqual([
      {
        folders: ['benchmarks', 'src/c', 'src/d'],
        edges: [
          { from: 'benchmarks', to: 'src/c', example: { file: 'benchmarks/one.ts', specifier: '../src/c/c.ts' } },
          { from: 'src/c', to: 'src/d', example: { file: 'src/c/c.ts', specifier: '../d/d.ts' } },
          { from: 'src/d', to: 'benchmarks', example: { file: 'src/d/d.ts', specifier: '../../benchmarks/one.ts' } },
        ],
      },
      {
        folders: ['src/a', 'src/b'],
        edges: [
          { from: 'src/a', to: 'src/b', example: { file: 'src/a/deep/x.ts', specifier: '../../b/y.ts' } },
          { from: 'src/b', to: 'src/a', example: { file: 'src/b/y.ts', specifier: '../a/z.ts' } },
        ],
      },
    ]);
  });

  test('the report names the folders and the importing file of every edge', () => {
    expect(formatCycles(findFolderCycles(root))).toBe(
      [
        'import cycle between benchmarks, src/c, src/d:',
        "  benchmarks → src/c: benchmarks/one.ts imports '../src/c/c.ts'",
        "  src/c → src/d: src/c/c.ts imports '../d/d.ts'",
        "  src/d → benchmarks: src/d/d.ts imports '../../benchmarks/one.ts'",
        'import cycle between src/a, src/b:',
        "  src/a → src/b: src/a/deep/x.ts imports '../../b/y.ts'",
        "  src/b → src/a: src/b/y.ts imports '../a/z.ts'",
      ].join('\n'),
    );
  });
});
