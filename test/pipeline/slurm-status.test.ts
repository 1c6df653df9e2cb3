/**
 * A Slurm run's state from the run directory and the queue alone: the manifest's round trip and its
 * one-line refusals, squeue/sacct line parsing, and each stage's state (done, queued, running, failed,
 * cancelled, skipped) from the queue's view, or, once the queue has forgotten the job (no slurmdbd), from
 * the done marker, the exit status file the job's script writes and its log.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ManifestStage, type SlurmManifest, manifestJobIds, manifestPath, readManifest, writeManifest } from '../../src/pipeline/slurm/manifest.ts';
import { type QueueSnapshot, parseQueueLines } from '../../src/pipeline/slurm/queue.ts';
import { formatStatus, stageStates } from '../../src/pipeline/slurm/status.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-slurm-status-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function stage(id: string, deps: string[], jobId: string | null): ManifestStage {
  const d = join(dir, id);
  mkdirSync(d, { recursive: true });
  return { id, label: id, key: `key-${id}`, deps, marker: join(d, 'done.json'), output: join(d, 'out'), log: join(d, 'job.log'), exit_file: join(d, 'slurm-exit.json'), job_id: jobId };
}
const manifest = (stages: ManifestStage[]): SlurmManifest => ({ version: 1, name: 'r', run_dir: dir, stages, report: null, updated: '' });
const markDone = (s: ManifestStage, key = s.key) => {
  writeFileSync(s.marker, JSON.stringify({ stage: s.id, key }));
  writeFileSync(s.output, '');
};
const exited = (s: ManifestStage, code: number, jobId = s.job_id) => writeFileSync(s.exit_file, JSON.stringify({ job_id: jobId, exit_code: code, host: 'n1' }));
const states = (m: SlurmManifest, q: QueueSnapshot = new Map()) => Object.fromEntries(stageStates(m, q).map((s) => [s.id, s.status]));

describe('the manifest', () => {
  test('round trip; every job id it names', () => {
    const m = { ...manifest([stage('a', [], '5'), stage('b', ['a'], null)]), report: { job_id: '9', log: 'l', exit_file: 'e' } };
    writeManifest(m);
    expect(readManifest(dir)).toEqual({ ...m, updated: expect.any(String) });
    expect(manifestJobIds(m)).toEqual(['5', '9']);
    expect(readManifest(join(dir, 'nothing'))).toBeNull();
  });

  test('a damaged manifest is one line naming the file and the fix', () => {
    writeFileSync(manifestPath(dir), '{"version": 1, "stag');
    expect(() => readManifest(dir)).toThrow(new RegExp(`^${manifestPath(dir)} is not valid JSON .*; delete it and run again \\(finished stages are reused\\)$`));
    writeFileSync(manifestPath(dir), '{"version": 7}');
    expect(() => readManifest(dir)).toThrow(`${manifestPath(dir)} is not a clearbench Slurm manifest; delete it and run again (finished stages are reused)`);
  });
});

describe('queue lines', () => {
  test("squeue's id|state|reason and sacct's id|state|exit code", () => {
    const q = parseQueueLines('12|PENDING|Dependency\n13|RUNNING|None\n\n14|CANCELLED by 0|0:15\n15|completed|0:0\n');
    expect([...q]).toEqual([
      ['12', { state: 'PENDING', reason: 'Dependency' }],
      ['13', { state: 'RUNNING', reason: 'None' }],
      ['14', { state: 'CANCELLED', reason: '0:15' }],
      ['15', { state: 'COMPLETED', reason: '0:0' }],
    ]);
  });
});

describe('stage states', () => {
  test('while the queue knows the jobs: done, running, queued behind it', () => {
    const [a, b, c] = [stage('a', [], '1'), stage('b', ['a'], '2'), stage('c', ['b'], '3')];
    markDone(a);
    const q = parseQueueLines('1|COMPLETED|None\n2|RUNNING|None\n3|PENDING|Dependency');
    const st = stageStates(manifest([a, b, c]), q);
    expect(st.map((s) => [s.id, s.status, s.job_id, s.detail])).toEqual([['a', 'done', '1', ''], ['b', 'running', '2', ''], ['c', 'queued', '3', 'Dependency']]);
    expect(formatStatus({ manifest: manifest([a, b, c]), stages: st, report: null })).toContain('3 stages: 1 done, 1 running, 1 queued');
  });

  test('a marker with another key is not done', () => {
    const a = stage('a', [], '1');
    markDone(a, 'old-key');
    exited(a, 0);
    expect(states(manifest([a]))).toEqual({ a: 'failed' });
  });

  test('a failed job: its exit code, its last log line and its log; its dependents never started: skipped, naming it', () => {
    const [a, b, c] = [stage('a', [], '1'), stage('b', ['a'], '2'), stage('c', ['b'], '3')];
    writeFileSync(a.log, 'starting\nclearbench: boom: this method always fails\n');
    exited(a, 1);
    // Queue still knows them (kill-on-invalid-dep cancelled the dependents), then forgot them: the same states.
    for (const q of [parseQueueLines('1|FAILED|NonZeroExitCode\n2|CANCELLED|DependencyNeverSatisfied\n3|PENDING|Dependency'), new Map()]) {
      const st = stageStates(manifest([a, b, c]), q);
      expect(st.map((s) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
      expect(st[0].detail).toBe(`exit code 1 (clearbench: boom: this method always fails); log: ${a.log}`);
      expect(st[1].detail).toBe('never started: input a failed');
      expect(st[2].detail).toBe('never started: input b was skipped');
    }
  });

  test('scancel of a running job: cancelled (it started, it has no exit status); its dependents skipped', () => {
    const [a, b] = [stage('a', [], '1'), stage('b', ['a'], '2')];
    writeFileSync(a.log, 'step 3\n');
    expect(states(manifest([a, b]), parseQueueLines('1|CANCELLED|None\n2|PENDING|Dependency'))).toEqual({ a: 'cancelled', b: 'skipped' });
    expect(stageStates(manifest([a, b]), new Map())[0].detail).toBe(`ended without an exit status (cancelled or killed) (step 3); log: ${a.log}`);
  });

  test('clearbench cancel marks the jobs it stopped: they read as cancelled, not skipped', () => {
    const [a, b] = [stage('a', [], '1'), { ...stage('b', ['a'], '2'), cancelled: true }];
    writeFileSync(a.log, '');
    expect(states(manifest([{ ...a, cancelled: true }, b]), new Map())).toEqual({ a: 'cancelled', b: 'cancelled' });
  });

  test("an exit status of another job (an earlier submission's) does not count", () => {
    const a = stage('a', [], '7');
    exited(a, 1, '3');
    writeFileSync(a.log, '');
    expect(states(manifest([a]))).toEqual({ a: 'cancelled' });
  });

  test('a job Slurm failed before its script could write its log: the node cannot see the run directory', () => {
    const a = stage('a', [], '1');
    const [st] = stageStates(manifest([a]), parseQueueLines('1|FAILED|NonZeroExitCode'));
    expect(st.status).toBe('failed');
    expect(st.detail).toContain('its node cannot see the run directory, which must be on a filesystem the nodes share');
  });

  test('timeouts and out-of-memory are failures that say so', () => {
    const a = stage('a', [], '1');
    writeFileSync(a.log, 'epoch 1\n');
    const [st] = stageStates(manifest([a]), parseQueueLines('1|TIMEOUT|TimeLimit'));
    expect([st.status, st.detail]).toEqual(['failed', `Slurm says the job ran out of its time limit (TimeLimit) (epoch 1); log: ${a.log}`]);
  });

  test('a stage never submitted says how to submit it', () => {
    expect(stageStates(manifest([stage('a', [], null)]), new Map())[0]).toMatchObject({ status: 'unsubmitted', detail: 'not submitted: run the same clearbench run again' });
  });
});
