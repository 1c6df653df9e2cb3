/**
 * Runs a plan: stages whose marker holds their key are reused; the rest are handed to an executor as soon
 * as their inputs are done, at most `jobs` at a time (p-queue), the critical path first, each with its job
 * spec written into its directory and `threads` ORT threads. A failed job is reported with its log and stops
 * only the stages that need its output. The scheduler knows executors only through executor.ts.
 */
import PQueue from 'p-queue';
import { writeFileAtomic } from '../util/atomic.ts';
import { type RunDisplay } from './console.ts';
import { type Executor, type JobHandle } from './executor.ts';
import { clearOutput, isDone, jobSpecPath, markDone } from './markers.ts';
import { type Plan, type Stage } from './plan.ts';

export interface SchedulerOptions {
  jobs: number;
  threads: number;
  display: RunDisplay;
}

export interface Outcome {
  /** Stage ids, in the order they finished. */
  ran: string[];
  cached: string[];
  failed: { id: string; log: string; message: string }[];
  /** Stages not run because an input failed. */
  skipped: string[];
}

export class Scheduler {
  /** Jobs submitted and not yet ended (what abort cancels). */
  private readonly active = new Set<JobHandle>();
  private aborted = false;

  constructor(
    private readonly plan: Plan,
    private readonly executor: Executor,
    private readonly opts: SchedulerOptions,
  ) {}

  /** Stages that would run now (their marker is missing or holds another key). */
  pending(): Stage[] {
    return this.plan.stages.filter((s) => !isDone(s));
  }

  async run(): Promise<Outcome> {
    const out: Outcome = { ran: [], cached: [], failed: [], skipped: [] };
    const stages = this.plan.stages;
    const pending = new Set(this.pending().map((s) => s.id));
    const order = new Map(stages.map((s, i) => [s.id, i]));
    const dependents = new Map<string, Stage[]>(stages.map((s) => [s.id, []]));
    for (const s of stages) for (const d of s.deps) dependents.get(d)!.push(s);
    // Unfinished inputs of each stage to run (reused stages count as finished).
    const waiting = new Map(stages.filter((s) => pending.has(s.id)).map((s) => [s.id, s.deps.filter((d) => pending.has(d)).length]));
    for (const s of stages) if (!pending.has(s.id)) out.cached.push(s.id);

    const queue = new PQueue({ concurrency: this.opts.jobs });
    const ready: Stage[] = [];
    const settled = new Set<string>();
    const skip = (s: Stage, reason: string) => {
      if (settled.has(s.id) || !pending.has(s.id)) return;
      settled.add(s.id);
      out.skipped.push(s.id);
      this.opts.display.skip(s, reason);
      for (const d of dependents.get(s.id)!) skip(d, reason);
    };
    const makeReady = (s: Stage) => {
      ready.push(s);
      void queue.add(runNext);
    };
    // Each queued task runs the best stage ready when it starts and makes its dependents ready before it
    // ends, so a stage on the critical path (gold's evaluation) goes before others that were ready earlier.
    const runNext = async () => {
      ready.sort((a, b) => b.priority - a.priority || order.get(a.id)! - order.get(b.id)!);
      const s = ready.shift()!;
      if (this.aborted) return skip(s, 'the run was stopped');
      const ok = await this.runStage(s, out);
      settled.add(s.id);
      for (const d of dependents.get(s.id)!) {
        if (!waiting.has(d.id)) continue; // reused: its output is already there
        if (!ok) skip(d, 'an input failed');
        else if (this.aborted) skip(d, 'the run was stopped');
        else {
          const left = waiting.get(d.id)! - 1;
          waiting.set(d.id, left);
          if (left === 0) makeReady(d);
        }
      }
    };
    this.opts.display.begin(pending.size);
    for (const s of stages) if (waiting.get(s.id) === 0) makeReady(s);
    await queue.onIdle();
    return out;
  }

  /** Stops the running jobs (on SIGINT/SIGTERM); their stages stay unmarked and run again next time. */
  abort(): void {
    this.aborted = true;
    for (const h of this.active) void this.executor.cancel(h);
  }

  private async runStage(s: Stage, out: Outcome): Promise<boolean> {
    const t0 = performance.now();
    this.opts.display.start(s);
    let error: string | null = null;
    let seconds = 0;
    try {
      clearOutput(s);
      error = await this.runJob(s);
      seconds = (performance.now() - t0) / 1000;
      if (error === null) markDone(s, seconds);
    } catch (err) {
      error = (err as Error).message;
    }
    if (error !== null) {
      out.failed.push({ id: s.id, log: s.log, message: error });
      this.opts.display.fail(s, error);
      return false;
    }
    out.ran.push(s.id);
    this.opts.display.finish(s, seconds);
    return true;
  }

  /** Hands the stage's job to the executor; resolves to null on success or to the failure's one-line description. */
  private async runJob(s: Stage): Promise<string | null> {
    const specFile = jobSpecPath(s);
    writeFileAtomic(specFile, `${JSON.stringify(s.spec, null, 2)}\n`);
    const handle = await this.executor.submit({
      stage: s.id, specFile, log: s.log, threads: this.opts.threads,
      onMessage: (m) => (m.type === 'progress' ? this.opts.display.progress(s, m.value, m.total, m.info) : this.opts.display.note(m.message)),
    });
    this.active.add(handle);
    try {
      if (this.aborted) await this.executor.cancel(handle); // stopped while it was being submitted
      const end = await this.executor.ended(handle);
      return end.status === 'succeeded' ? null : end.message;
    } finally {
      this.active.delete(handle);
    }
  }
}
