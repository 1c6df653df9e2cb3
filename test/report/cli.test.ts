import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReports } from '../../src/report/write-reports.ts';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const RUN = join(here, 'fixtures', 'run-a');
const GOLDEN = join(here, 'fixtures', 'golden');
const scratch = mkdtempSync(join(tmpdir(), 'clearbench-report-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'clearbench.js'), 'report', ...args], { encoding: 'utf8', cwd: scratch });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('clearbench report', () => {
  test('prints the Markdown leaderboard by default and notes unevaluated models on stderr', () => {
    const r = cli(RUN);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(GOLDEN, 'leaderboard.md'), 'utf8'));
    expect(r.stderr).toBe(`note: ${RUN}/models/rmu-wip has no evaluation yet; left out\n`);
  });

  test('a half-finished run: the table is printed, and stderr says which planned evaluations are missing', () => {
    const run = join(scratch, 'half');
    cpSync(RUN, run, { recursive: true });
    writeFileSync(join(run, 'expected-results.json'), JSON.stringify({ evaluations: ['models/target/eval/clear-forget10', 'models/rmu-wip/eval/clear-forget10'] }));
    const r = cli(run);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('**Incomplete run** `half`: 1 of 2 planned evaluations have no results yet');
    expect(r.stderr.split('\n')[1]).toBe(
      `note: ${run} is incomplete: 1 of 2 planned evaluations have no results yet and are not in the tables (models/rmu-wip/eval/clear-forget10); run the same config again to finish the run`,
    );
  });

  test('--out infers the format from the extension and writes the file', () => {
    const out = join(scratch, 'tables', 'board.tex');
    const r = cli(RUN, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(GOLDEN, 'leaderboard.tex'), 'utf8'));
  });

  test('--out with an extension that names no format is refused before anything is written', () => {
    for (const name of ['board.xlsx', 'board']) {
      const out = join(scratch, 'refused', name);
      const r = cli(RUN, '--out', out);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const what = name.includes('.') ? 'extension ".xlsx"' : 'no extension';
      expect(r.stderr).toBe(
        `clearbench: --out ${out} has ${what}, which names no report format; use one of .md, .markdown, .csv, .json, .tex, .html, .htm, or pass --format (md, csv, json, latex, html)\n`,
      );
      expect(existsSync(out)).toBe(false);
    }
  });

  test('--format that contradicts the --out extension is refused; with an extension that names none it decides', () => {
    const md = join(scratch, 'contradict', 'board.md');
    const r = cli(RUN, '--format', 'csv', '--out', md);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`clearbench: --format csv contradicts --out ${md} (a .md file holds md); change the extension or drop --format\n`);
    expect(existsSync(md)).toBe(false);
    const txt = join(scratch, 'board.txt');
    // CSV (the golden file's lines, run_dir aside: it is relative to where the file is written).
    const csvLines = (text: string) => text.split('\n').map((l) => l.replace(/,[^,]*,models\/[^,]*$/, ''));
    const golden = csvLines(readFileSync(join(GOLDEN, 'leaderboard.csv'), 'utf8'));
    expect(cli(RUN, '--format', 'csv', '--out', txt).code).toBe(0);
    expect(csvLines(readFileSync(txt, 'utf8'))).toEqual(golden);
    const upper = join(scratch, 'BOARD.CSV');
    expect(cli(RUN, '--out', upper).code).toBe(0);
    expect(csvLines(readFileSync(upper, 'utf8'))).toEqual(golden);
  });

  test('--format json with --out: run_dir is relative to the written file', () => {
    const out = join(scratch, 'board.json');
    expect(cli(RUN, '--format', 'json', '--out', out).code).toBe(0);
    const rows = JSON.parse(readFileSync(out, 'utf8'));
    const ga = rows.find((r: { name: string }) => r.name === 'ga-lr1e-5');
    // The file sits in the scratch dir (cwd) and the run in the repository: a relative path leading there.
    expect(ga.run_dir).toMatch(/^\.\.\/.*test\/report\/fixtures\/run-a$/);
    expect(join(scratch, ga.run_dir)).toBe(RUN);
    expect(ga.eval_dir).toBe('models/ga-lr1e-5/eval/clear-forget10');
  });

  test('a missing run dir: one line naming it, exit code 1, no stack', () => {
    const r = cli(join(scratch, 'no-such-run'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`clearbench: ${join(scratch, 'no-such-run')}: run directory not found; check the path\n`);
  });

  test('an unknown --sort key is a one-line error', () => {
    const r = cli(RUN, '--sort', 'speed');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^clearbench: unknown --sort "speed"; use one of: name, real, .*\n$/);
  });
});

describe('writeReports', () => {
  test('writes the five reports into the run dir and returns their paths; same results → same bytes', async () => {
    const a = join(scratch, 'a', 'run');
    const b = join(scratch, 'b', 'elsewhere', 'run');
    cpSync(RUN, a, { recursive: true });
    cpSync(RUN, b, { recursive: true });
    const pa = await writeReports(a);
    const pb = await writeReports(b);
    expect(pa).toEqual({
      markdown: join(a, 'leaderboard.md'),
      csv: join(a, 'leaderboard.csv'),
      json: join(a, 'leaderboard.json'),
      latex: join(a, 'leaderboard.tex'),
      html: join(a, 'report.html'),
    });
    for (const [key, file] of [['markdown', 'leaderboard.md'], ['csv', 'leaderboard.csv'], ['json', 'leaderboard.json'], ['latex', 'leaderboard.tex']] as const) {
      expect(readFileSync(pa[key], 'utf8')).toBe(readFileSync(join(GOLDEN, file), 'utf8'));
    }
    // The page is deterministic and independent of where the run lives.
    expect(readFileSync(pa.html, 'utf8')).toBe(readFileSync(pb.html, 'utf8'));
    expect(existsSync(`${pa.html}.tmp`)).toBe(false);
  });

  test('a failure leaves earlier reports untouched', async () => {
    const run = join(scratch, 'keep', 'run');
    cpSync(RUN, run, { recursive: true });
    const paths = await writeReports(run);
    const before = readFileSync(paths.markdown, 'utf8');
    rmSync(join(run, 'models'), { recursive: true });
    await expect(writeReports(run)).rejects.toThrow('no results found');
    expect(readFileSync(paths.markdown, 'utf8')).toBe(before);
  });
});
