/**
 * Whether Node (and tsx, which follows it) loads a `.ts` or `.js` file in a directory as an ES module: the
 * nearest package.json above it decides with "type": "module"; none at all means CommonJS. A plugin loaded as
 * CommonJS cannot import the harness's ES modules while the CLI is loading, so the template and the loader
 * need to know. (`.mts` files are ES modules wherever they are.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export function isEsmScope(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    // Node stops looking at a node_modules folder: a package there is a scope of its own.
    if (basename(d) === 'node_modules') return false;
    const pkg = join(d, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type === 'module';
      } catch {
        return false; // Node refuses such a file; the import then says why
      }
    }
    if (dirname(d) === d) return false;
  }
}
