/** A method plugin that throws on its first loss: the failed stage of the pipeline's fault tests. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const API = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'methods', 'api.ts');

/** Writes `boom.mts` (.mts: ESM outside a package with "type": "module") into `dir`; returns its path. */
export function writeFailingPlugin(dir: string): string {
  const plugin = join(dir, 'boom.mts');
  writeFileSync(
    plugin,
    `import { defineMethod } from ${JSON.stringify(API)};\n` +
      "export default defineMethod({ name: 'boom', description: 'always fails', hyperparameters: {}, streams: ['forget'],\n" +
      "  loss: () => { throw new Error('boom: this method always fails'); } });\n",
  );
  return plugin;
}
