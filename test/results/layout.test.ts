/**
 * src/results/layout.ts is the one place that names the files and folders of a run directory: no other
 * source file spells them in a string literal (comments and messages that merely mention them are
 * fine: a message is a longer string). The paths themselves compose as the layout documents.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  CHECKPOINT_DIR, EXPECTED_RESULTS_FILE, META_FILE, MIA_SAMPLES_FILE, MODELS_DIR, REPORT_FILES, RESOLVED_CONFIG, RUN_LOCK, RUN_MARKER,
  SLURM_MANIFEST, SLURM_REPORT_FILES, SUMMARY_FILE, TRAIN_LOG_FILE, evalDir, metaPath, miaSamplesPath, modelCheckpointDir, modelDir, summaryPath, taskSamplesPath, trainLogPath,
} from '../../src/results/layout.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Names that only the layout may spell; a string literal equal to one (or ending in one) elsewhere is a twin. */
const NAMES = [
  CHECKPOINT_DIR, TRAIN_LOG_FILE, META_FILE, SUMMARY_FILE, MIA_SAMPLES_FILE, '.samples.json', MODELS_DIR, RESOLVED_CONFIG,
  EXPECTED_RESULTS_FILE, RUN_MARKER, RUN_LOCK, ...Object.values(REPORT_FILES), SLURM_MANIFEST, ...Object.values(SLURM_REPORT_FILES),
];

/**
 * Words of someone else's protocol that happen to equal a layout name: the loopback hub routes model repos
 * under the Hugging Face hub's own `/api/models/…` path, which has nothing to do with a run's `models/` folder.
 */
const HUB_WORDS = [{ file: 'src/data/hub/server.ts', piece: 'models' }];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every string literal and template piece of a file that is a layout name, or a path ending in one. */
function spelledNames(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) {
      const piece = n.text;
      // A path piece (no spaces: messages and help texts may mention the names) equal to or ending in a name.
      if (!/\s/.test(piece) && NAMES.some((name) => piece === name || piece.endsWith(`/${name}`))) {
        found.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${JSON.stringify(piece)}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

describe('the run directory layout', () => {
  test('no source file outside src/results spells a layout name', () => {
    const files = ['src', 'benchmarks', 'methods'].flatMap(sources).filter((f) => !f.startsWith('src/results/'));
    expect(files.length).toBeGreaterThan(50);
    const twins = files.flatMap((f) => spelledNames(f)).filter((hit) => !HUB_WORDS.some((w) => hit.startsWith(`${w.file}:`) && hit.endsWith(`: ${JSON.stringify(w.piece)}`)));
    expect(twins).toEqual([]);
  });

  test('the guard sees a twin, and lets messages and other words pass', () => {
    const probe = [
      "join(dir, 'summary.json');",
      'writeFileAtomic(join(out, `${id}.samples.json`), x);',
      "const p = `${run}/models/${name}/train_log.jsonl`;",
      "throw new UserError('no summary.json found; run the pipeline');",
      "const kind = 'eval';",
    ].join('\n');
    expect(spelledNames('probe.ts', probe)).toEqual([
      'probe.ts:1: "summary.json"',
      'probe.ts:2: ".samples.json"',
      'probe.ts:3: "/train_log.jsonl"',
    ]);
  });

  test('paths compose as documented', () => {
    const model = modelDir('/runs/demo', 'npo-s0-forget10');
    const ev = evalDir(model, 'clear', 'forget10');
    const rel = (p: string) => relative('/runs/demo', p).split('\\').join('/');
    expect([model, modelCheckpointDir(model), trainLogPath(model), metaPath(model), ev, summaryPath(ev), taskSamplesPath(ev, 'forget'), miaSamplesPath(ev)].map(rel)).toEqual([
      'models/npo-s0-forget10',
      'models/npo-s0-forget10/checkpoint',
      'models/npo-s0-forget10/train_log.jsonl',
      'models/npo-s0-forget10/meta.json',
      'models/npo-s0-forget10/eval/clear-forget10',
      'models/npo-s0-forget10/eval/clear-forget10/summary.json',
      'models/npo-s0-forget10/eval/clear-forget10/forget.samples.json',
      'models/npo-s0-forget10/eval/clear-forget10/mia.samples.json',
    ]);
  });
});
