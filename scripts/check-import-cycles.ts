/**
 * Fails when source folders import each other in a cycle. A folder is a top-level folder of src/
 * (src/eval, src/pipeline, …) or one of methods/, benchmarks/, datasets/; an edge A → B is any relative
 * import, re-export or literal dynamic `import('…')` (type-only ones included: they couple the folders
 * just the same) from a file in A of a file in B. Every strongly connected component of more than one
 * folder is a cycle, reported with one example import per edge inside it.
 *
 *   npx tsx scripts/check-import-cycles.ts [repo root]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The folders whose files are scanned, relative to the repository root. */
export const SOURCE_ROOTS = ['src', 'methods', 'benchmarks', 'datasets'] as const;

const SOURCE_FILE = /\.(m|c)?[jt]s$/;

/** One example of an edge: the importing file (repository-relative, `/`-separated) and what it imports. */
export interface ImportExample {
  file: string;
  specifier: string;
}

export interface FolderCycle {
  /** The folders of one strongly connected component, sorted. */
  folders: string[];
  /** Every edge between two of them, with the first import (in file order) that makes it. */
  edges: { from: string; to: string; example: ImportExample }[];
}

/** `src/eval/metrics/ks.ts` → `src/eval`; `methods/ga.ts` → `methods`; null outside the source roots. */
export function folderOf(repoPath: string): string | null {
  const parts = repoPath.split('/');
  if (!(SOURCE_ROOTS as readonly string[]).includes(parts[0])) return null;
  if (parts[0] === 'src' && parts.length > 2) return `src/${parts[1]}`;
  return parts[0];
}

function sourceFiles(root: string, dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const path = posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(root, path));
    else if (e.isFile() && SOURCE_FILE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Folder → folder → first import that makes the edge, over every source file under `root`. */
export function folderGraph(root: string): Map<string, Map<string, ImportExample>> {
  const graph = new Map<string, Map<string, ImportExample>>();
  for (const file of SOURCE_ROOTS.flatMap((r) => sourceFiles(root, r))) {
    const from = folderOf(file)!;
    if (!graph.has(from)) graph.set(from, new Map());
    // The compiler's own pre-pass: imports, re-exports and literal dynamic imports, never comments or strings.
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const to = folderOf(posix.normalize(posix.join(posix.dirname(file), specifier)));
      if (to === null || to === from) continue;
      const edges = graph.get(from)!;
      if (!edges.has(to)) edges.set(to, { file, specifier });
      if (!graph.has(to)) graph.set(to, new Map());
    }
  }
  return graph;
}

/** Tarjan's strongly connected components; those of more than one folder, each sorted, in sorted order. */
function cyclicComponents(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!.keys()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

export function findFolderCycles(root: string): FolderCycle[] {
  const graph = folderGraph(root);
  return cyclicComponents(graph).map((folders) => {
    const inside = new Set(folders);
    const edges = folders.flatMap((from) =>
      [...graph.get(from)!].filter(([to]) => inside.has(to)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([to, example]) => ({ from, to, example })),
    );
    return { folders, edges };
  });
}

export function formatCycles(cycles: readonly FolderCycle[]): string {
  return cycles
    .map((c) => [
      `import cycle between ${c.folders.join(', ')}:`,
      ...c.edges.map((e) => `  ${e.from} → ${e.to}: ${e.example.file} imports '${e.example.specifier}'`),
    ].join('\n'))
    .join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const cycles = findFolderCycles(root);
  if (cycles.length > 0) {
    process.stderr.write(`${formatCycles(cycles)}\nbreak each cycle: one of its folders must stop importing the other (move the shared piece to the folder both may import)\n`);
    process.exit(1);
  }
  process.stdout.write(`no import cycle between the folders of ${SOURCE_ROOTS.join(', ')} under ${relative(process.cwd(), root).split(sep).join('/') || '.'}\n`);
}
