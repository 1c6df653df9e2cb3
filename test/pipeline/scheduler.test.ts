/**
 * The scheduler over the executor interface alone: with a recording executor in place of worker
 * processes, every stage of a plan (the data stage included) is submitted once, after the stages it reads
 * have ended, with its job spec written where the submission says; a failed job's one line is reported and
 * only the stages that need it are skipped; stopping the run cancels what is running. No job really runs.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainDisplay } from '../../src/pipeline/console.ts';
import { type Executor, type JobEnd, type JobHandle, type JobState, type JobSubmission } from '../../src/pipeline/executor.ts';
import { type JobSpec } from '../../src/pipeline/jobs/spec.ts';
import { prepareRun, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { Scheduler } from '../../src/pipeline/scheduler.ts';

const CONFIG = `
name: sched
data: { source: synthetic, synthetic: { persons: 5, images_per_person: 2, well_known: 6, seed: 1 } }
model: { preset: tiny, vocab_size: 300 }
methods: [{ name: ga }, { name: npo }]
eval: { benchmarks: [clear], relearn_steps: 0, ds_size: 2, max_new_tokens: 2, batch_size: 3 }
threads: 3
jobs: 2
`;

interface Submitted {
  job: JobSubmission;
  spec: JobSpec;
  handle: JobHandle;
  /** Stages that had ended when this one was submitted. */
  endedBefore: string[];
  cancelled: boolean;
  end: (e: JobEnd) => void;
}

/**
 * An executor that runs nothing: it records each submission and ends the job as `outcome` says, on the
 * next turn of the event loop (or never, for 'hang', until cancelled).
 */
class RecordingExecutor implements Executor {
  readonly submitted: Submitted[] = [];
  private readonly endedStages = new Set<string>();
  private readonly ends = new Map<string, Promise<JobEnd>>();
  private readonly states = new Map<string, JobState>();

  constructor(private readonly outcome: (stage: string) => JobEnd | 'hang' = () => ({ status: 'succeeded' })) {}

  async submit(job: JobSubmission): Promise<JobHandle> {
    const handle: JobHandle = { id: `fake-${this.submitted.length + 1}`, stage: job.stage };
    let end!: (e: JobEnd) => void;
    this.ends.set(handle.id, new Promise<JobEnd>((r) => (end = r)));
    this.states.set(handle.id, { status: 'running' });
    const rec: Submitted = {
      job, handle, spec: JSON.parse(readFileSync(job.specFile, 'utf8')) as JobSpec, endedBefore: [...this.endedStages], cancelled: false,
      end: (e) => {
        if (this.states.get(handle.id)!.status !== 'running') return;
        this.states.set(handle.id, e);
        this.endedStages.add(job.stage);
        end(e);
      },
    };
    this.submitted.push(rec);
    const o = this.outcome(job.stage);
    if (o !== 'hang') setImmediate(() => rec.end(o));
    return handle;
  }

  async state(h: JobHandle): Promise<JobState> {
    return this.states.get(h.id)!;
  }

  ended(h: JobHandle): Promise<JobEnd> {
    return this.ends.get(h.id)!;
  }

  async cancel(h: JobHandle): Promise<void> {
    const rec = this.submitted.find((s) => s.handle.id === h.id)!;
    rec.cancelled = true;
    rec.end({ status: 'failed', message: 'cancelled' });
  }
}

let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clearbench-scheduler-'));
  config = join(dir, 'sched.yaml');
  writeFileSync(config, CONFIG);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the scheduler talks to its executor through the interface only', () => {
  test('every stage, the data stage included, is submitted once after its inputs ended, with its spec, log and thread budget', async () => {
    const out = join(dir, 'all');
    const { plan } = await prepareRun({ config, out });
    const executor = new RecordingExecutor();
    const r = await runPipeline({ config, out, executor, display: plainDisplay(() => {}), print: () => {} });
    expect(r.outcome!.failed).toEqual([]);
    expect(r.outcome!.ran.sort()).toEqual(plan.stages.map((s) => s.id).sort());
    expect(executor.submitted.map((s) => s.job.stage).sort()).toEqual(plan.stages.map((s) => s.id).sort());
    for (const sub of executor.submitted) {
      const stage = plan.stages.find((s) => s.id === sub.job.stage)!;
      for (const d of stage.deps) expect(sub.endedBefore).toContain(d);
      expect(sub.spec).toEqual(JSON.parse(JSON.stringify(stage.spec)));
      expect(sub.job).toMatchObject({ log: stage.log, threads: 3 });
    }
    // The data stage is a job like the others; its spec is a dot-file, which the dataset's layout scanner skips.
    const data = executor.submitted.find((s) => s.job.stage === 'data')!;
    expect(data.job.specFile).toBe(join(out, 'data', '.job.json'));
    expect(data.spec).toMatchObject({ kind: 'data', dataDir: join(out, 'data'), source: { source: 'synthetic' } });
    expect(executor.submitted.find((s) => s.job.stage === 'train:base')!.job.specFile).toBe(join(out, 'models', 'base', 'job.json'));
    // The evaluation job carries the config's eval settings as they are.
    const ev = executor.submitted.find((s) => s.job.stage === 'eval:npo-s0-forget10:clear-forget10')!.spec;
    expect(ev).toMatchObject({ kind: 'eval', gold: join(out, 'models', 'gold-forget10', 'eval', 'clear-forget10'), settings: { ds_size: 2, max_new_tokens: 2, batch_size: 3 } });
  });

  test("a failed job's one line is reported; only the stages that need its output are skipped, and never submitted", async () => {
    const out = join(dir, 'failing');
    const executor = new RecordingExecutor((stage) => (stage === 'train:ga-s0-forget10' ? { status: 'failed', message: 'exit code 1 (clearbench: boom); log: x' } : { status: 'succeeded' }));
    const lines: string[] = [];
    const r = await runPipeline({ config, out, executor, display: plainDisplay((l) => lines.push(l)), print: () => {} });
    expect(r.outcome!.failed).toEqual([{ id: 'train:ga-s0-forget10', log: join(out, 'models', 'ga-s0-forget10', 'job.log'), message: 'exit code 1 (clearbench: boom); log: x' }]);
    expect(r.outcome!.skipped).toEqual(['eval:ga-s0-forget10:clear-forget10']);
    expect(executor.submitted.map((s) => s.job.stage)).not.toContain('eval:ga-s0-forget10:clear-forget10');
    expect(r.outcome!.ran).toContain('eval:npo-s0-forget10:clear-forget10');
    expect(lines.filter((l) => l.includes('FAILED'))).toEqual([expect.stringMatching(/^\[ ?\d+\/11\] FAILED unlearn ga-s0-forget10: exit code 1 \(clearbench: boom\); log: x$/)]);
  });

  test('abort cancels the running jobs through the executor and skips the rest', async () => {
    const out = join(dir, 'aborted');
    const { plan } = await prepareRun({ config, out });
    const executor = new RecordingExecutor((stage) => (stage === 'train:base' ? 'hang' : { status: 'succeeded' }));
    const scheduler = new Scheduler(plan, executor, { jobs: 2, threads: 1, display: plainDisplay(() => {}) });
    const running = scheduler.run();
    while (!executor.submitted.some((s) => s.job.stage === 'train:base')) await new Promise((r) => setImmediate(r));
    scheduler.abort();
    const outcome = await running;
    expect(executor.submitted.map((s) => [s.job.stage, s.cancelled])).toEqual([['data', false], ['train:base', true]]);
    expect(outcome.ran).toEqual(['data']);
    expect(outcome.failed.map((f) => f.id)).toEqual(['train:base']);
    expect(outcome.skipped).toHaveLength(plan.stages.length - 2);
  });
});
