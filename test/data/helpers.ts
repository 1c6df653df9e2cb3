/** Shared fixtures for the data tests: one tiny synthetic dataset per test file, in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { startHubServer, type HubServer } from '../../src/data/hub/server.ts';
import { generateSynthetic } from '../../src/data/synth/generate.ts';
import type { SynthSummary } from '../../src/data/synth/generate.ts';

/** Tiny but complete: 6 persons × 3 images, 6 well-known persons (the minimum). */
export const TINY = { persons: 6, imagesPerPerson: 3, wellKnown: 6, seed: 7 } as const;

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `clearbench-${tag}-`));
}

export async function tinyDataset(tag: string, over: Partial<typeof TINY> = {}): Promise<{ dir: string; summary: SynthSummary; root: string }> {
  const root = tempDir(tag);
  const dir = join(root, 'clear');
  const summary = await generateSynthetic({ outDir: dir, ...TINY, ...over });
  return { dir, summary, root };
}

export function cleanup(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** A tiny dataset served by the loopback hub for one test file; fields are set once beforeAll has run. */
export interface ServedDataset {
  dir: string;
  root: string;
  server: HubServer;
  /** A cache directory no other test of the file used. */
  freshCache(): string;
}

/** Registers the file's hooks: dataset and server before all tests, faults cleared after each, all removed at the end. */
export function servedTinyDataset(tag: string): ServedDataset {
  let n = 0;
  const served = { freshCache: () => join(served.root, `cache-${n++}`) } as ServedDataset;
  beforeAll(async () => {
    ({ dir: served.dir, root: served.root } = await tinyDataset(tag));
    served.server = await startHubServer({ dir: served.dir });
  });
  afterEach(() => {
    for (const k of Object.keys(served.server.faults)) delete (served.server.faults as Record<string, unknown>)[k];
  });
  afterAll(async () => {
    await served.server.close();
    cleanup(served.root);
  });
  return served;
}
