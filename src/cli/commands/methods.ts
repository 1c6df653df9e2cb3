import { type Command } from 'commander';
import { dirname, relative } from 'node:path';
import { type AnyMethod, type HyperSpec, type Phase, streamsOf, validateHyperparameters } from '../../methods/api.ts';
import { BUILTIN_DIR, MethodRegistry } from '../../methods/registry.ts';
import { testCommand, writeMethodTemplate } from '../../methods/template.ts';

/** What `clearbench methods --json` prints per method. */
export interface MethodListing {
  name: string;
  description: string;
  source: string;
  /** Streams read over a run's epochs (with default hyperparameters). */
  streams: string[];
  reference: boolean;
  /** For methods with a schedule: runs of epochs (1-based, `last` null = every later epoch) with their passes. */
  schedule: { first: number; last: number | null; phases: Phase[] }[] | null;
  restrictsTrainable: boolean;
  finalize: boolean;
  hyperparameters: Record<string, HyperSpec>;
}

// Enough epochs to see every phase of a schedule that changes with the epoch (SCRUB's max passes end).
const SCHEDULE_EPOCHS = 16;

export function methodListing(def: AnyMethod, source: string): MethodListing {
  const h = validateHyperparameters(def);
  return {
    name: def.name,
    description: def.description,
    source,
    streams: streamsOf(def, h, SCHEDULE_EPOCHS),
    reference: !!def.reference,
    schedule: def.phases ? schedule(def, h) : null,
    restrictsTrainable: !!def.trainable,
    finalize: !!def.finalize,
    hyperparameters: def.hyperparameters,
  };
}

/** Consecutive epochs with the same passes, grouped (with default hyperparameters). */
function schedule(def: AnyMethod, h: Record<string, unknown>): NonNullable<MethodListing['schedule']> {
  const out: NonNullable<MethodListing['schedule']> = [];
  for (let e = 0; e < SCHEDULE_EPOCHS; e++) {
    const phases = def.phases!(h as never, e);
    const prev = out[out.length - 1];
    if (prev && JSON.stringify(prev.phases) === JSON.stringify(phases)) prev.last = e + 1;
    else out.push({ first: e + 1, last: e + 1, phases });
  }
  out[out.length - 1].last = null;
  return out;
}

function specText(s: HyperSpec): string {
  const range = 'min' in s || 'max' in s ? [s.min !== undefined ? `≥ ${s.min}` : '', s.max !== undefined ? `≤ ${s.max}` : ''].filter(Boolean).join(', ') : '';
  const type = s.type === 'enum' ? s.values.join('|') : s.type;
  return `${type} = ${JSON.stringify(s.default)}${range ? ` (${range})` : ''}`;
}

/** The text form of one listing (`clearbench methods`). */
export function listingText(m: MethodListing): string {
  const lines = [`${m.name}  (${m.source})`, `  ${m.description}`];
  const extras = [m.reference ? 'frozen reference model' : '', m.restrictsTrainable ? 'restricts trained weights' : '', m.finalize ? 'post-processes weights' : ''].filter(Boolean);
  lines.push(`  streams: ${m.streams.join(', ')}${extras.length ? `; ${extras.join('; ')}` : ''}`);
  for (const run of m.schedule ?? []) {
    const epochs = run.last === null ? `${run.first}+` : run.first === run.last ? `${run.first}` : `${run.first}–${run.last}`;
    lines.push(`  epoch ${epochs}: ${run.phases.map((p) => `${p.name} [${p.streams.join(', ')}]`).join(' → ')}`);
  }
  const keys = Object.entries(m.hyperparameters);
  if (!keys.length) lines.push('  hyperparameters: none');
  else {
    lines.push('  hyperparameters:');
    const w = Math.max(...keys.map(([k]) => k.length));
    const specs = keys.map(([, s]) => specText(s));
    const ws = Math.max(...specs.map((s) => s.length));
    keys.forEach(([k, s], i) => lines.push(`    ${k.padEnd(w)}  ${specs[i].padEnd(ws)}  ${s.help}`));
  }
  return lines.join('\n');
}

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

/** `clearbench methods` and `clearbench new-method NAME`. */
export function registerMethods(program: Command): void {
  program
    .command('methods')
    .description('list the unlearning methods (methods/ plus plugins) with their streams and hyperparameters')
    .option('--plugin <path|package>', "also load a method plugin, as a config's plugins: list does (repeatable)", collect, [])
    .option('--json', 'print a JSON array (one object per method) instead of text')
    .action(async (o: { plugin: string[]; json?: boolean }) => {
      const registry = await MethodRegistry.discover(o.plugin, process.cwd());
      const listings = registry.entries().map((e) => methodListing(e.def, e.source));
      process.stdout.write(o.json ? `${JSON.stringify(listings, null, 2)}\n` : `${listings.map(listingText).join('\n\n')}\n`);
    });

  program
    .command('new-method')
    .description('write a commented template method plugin (a working loss) and its test; never overwrites')
    .argument('<name>', 'method name: a lower-case letter, then lower-case letters, digits or underscores')
    .option('--dir <dir>', 'directory of the plugin file', 'methods')
    .option('--test-dir <dir>', 'directory of its test', 'test/methods')
    .action(async (name: string, o: { dir: string; testDir: string }) => {
      const existing = (await MethodRegistry.discover()).names();
      const files = writeMethodTemplate({ name, dir: o.dir, testDir: o.testDir, existing });
      const rel = (f: string) => relative(process.cwd(), f) || f;
      process.stdout.write(
        `wrote ${rel(files.method)} and ${rel(files.test)}\n` +
          `edit the loss, then run: ${testCommand(files.test, process.cwd())}\n` +
          // Absolute: a relative entry in plugins: is read from the config's directory, which may be anywhere.
          (dirname(files.method) === BUILTIN_DIR ? '' : `outside methods/, list it in a config: plugins: [${files.method}]\n`),
      );
    });
}
