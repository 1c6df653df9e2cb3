/**
 * Compiled graphs: an onnxruntime-node InferenceSession plus the input/output bookkeeping to feed it
 * plain typed arrays. Weights are inputs, so the caller's buffers are used without copies.
 */
import * as ort from 'onnxruntime-node';
import { type Graph, type Tensor } from './graph.ts';
import { type TypedArray } from './dtype.ts';
import { serialize } from './onnx.ts';
import { UserError } from '../util/errors.ts';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

function newestProfile(prefix: string): string {
  const dir = dirname(prefix);
  const files = readdirSync(dir).filter((f) => f.startsWith(basename(prefix)) && f.endsWith('.json')).map((f) => join(dir, f));
  if (!files.length) throw new Error(`no onnxruntime profile found for prefix ${prefix}`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

export interface SessionOptions {
  /** Intra-op threads (default: 2, or CLEARBENCH_THREADS). */
  threads?: number;
  /** Write an onnxruntime profile (JSON) with this file prefix; see profile.ts. */
  profilePrefix?: string;
}

/** Where onnxruntime runs the graphs. */
export const DEVICES = ['cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/** The device CLEARBENCH_DEVICE names (`--device` sets it, so every stage's process sees the same). */
export function selectedDevice(): Device {
  const v = process.env.CLEARBENCH_DEVICE || 'cpu';
  if (!(DEVICES as readonly string[]).includes(v)) throw new UserError(`CLEARBENCH_DEVICE=${v} is not a device; use cpu or cuda (--device)`);
  return v as Device;
}

/** onnxruntime's providers for a device: CUDA with the CPU for the ops it lacks. */
function executionProviders(device: Device): ort.InferenceSession.SessionOptions['executionProviders'] {
  return device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}

/**
 * The CUDA provider's library beside onnxruntime-node's binding: the npm package does not bundle it
 * (its install script downloads it, which this project skips), so look before asking onnxruntime, whose
 * own failure is a multi-line native log.
 */
export function cudaProviderLibrary(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = join(pkg, 'bin');
  const napi = existsSync(bin) ? readdirSync(bin).filter((d) => d.startsWith('napi-v')).sort().at(-1) : undefined;
  return join(bin, napi ?? 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
}

let cudaChecked = false;

async function createSession(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  if (!cudaChecked && (options.executionProviders ?? []).includes('cuda')) {
    const lib = cudaProviderLibrary();
    if (!existsSync(lib)) {
      throw new UserError(`--device cuda: onnxruntime-node has no CUDA execution provider (${lib} is missing); install its CUDA 12 binaries (README, "Devices") or run on the CPU (--device cpu)`);
    }
    cudaChecked = true;
  }
  return await ort.InferenceSession.create(bytes, options);
}

export function defaultThreads(): number {
  const env = Number(process.env.CLEARBENCH_THREADS);
  return Number.isInteger(env) && env > 0 ? env : 2;
}

export type Feeds = Record<string, TypedArray>;
export type Results = Record<string, ort.Tensor>;

/**
 * Spinning intra-op workers busy-wait for the next run. That helps a session that runs alone (bench
 * train: +5 %), but when several sessions take turns (a training loop over batch shapes, evaluation)
 * each one's idle workers keep spinning through the others' runs and take their cores (an epoch of the
 * target recipe on 2 threads: 7,950 tokens/s spinning, 10,451 not). So a session spins only while it is
 * the process's only live one; once there are more, each is rebuilt without spinning before its next run.
 */
let liveSessions = 0;

function sessionOptions(threads: number, spinning: boolean, profilePrefix?: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProviders(selectedDevice()),
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Measured here: the arena matters (3.4× a step).
    enableCpuMemArena: true,
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
  };
}

export class CompiledGraph {
  private released = false;
  private settling: Promise<void> | null = null;

  private constructor(
    private ortSession: ort.InferenceSession,
    private spinning: boolean,
    private readonly threads: number,
    readonly inputs: readonly Tensor[],
    readonly outputs: Readonly<Record<string, Tensor>>,
    readonly modelBytes: Uint8Array,
    private readonly profilePrefix?: string,
  ) {}

  static async compile(graph: Graph, outputs: Record<string, Tensor>, opts: SessionOptions = {}): Promise<CompiledGraph> {
    const model = serialize(graph, outputs);
    const threads = opts.threads ?? defaultThreads();
    const spinning = liveSessions === 0;
    const session = await createSession(model.bytes, sessionOptions(threads, spinning, opts.profilePrefix));
    liveSessions++;
    return new CompiledGraph(session, spinning, threads, model.inputs, model.outputs, model.bytes, opts.profilePrefix);
  }

  /** The onnxruntime session (rebuilt without spinning once other sessions are live). */
  get session(): ort.InferenceSession {
    return this.ortSession;
  }

  /** Rebuild a spinning session without spinning when it no longer runs alone (a profiled one keeps its trace). */
  private settle(): Promise<void> {
    if (!this.spinning || liveSessions < 2 || this.profilePrefix || this.threads < 2) return Promise.resolve();
    this.settling ??= (async () => {
      const old = this.ortSession;
      this.ortSession = await createSession(this.modelBytes, sessionOptions(this.threads, false));
      this.spinning = false;
      await old.release();
    })();
    return this.settling;
  }

  /** Run with plain typed arrays; shapes come from the graph's static declarations. */
  async run(feeds: Feeds, fetch?: readonly string[]): Promise<Results> {
    await this.settle();
    const ortFeeds = this.wrapFeeds(feeds);
    return fetch ? this.ortSession.run(ortFeeds, fetch) : this.ortSession.run(ortFeeds);
  }

  /** Run writing outputs into preallocated tensors where given (null: let ORT allocate). */
  async runWith(feeds: Feeds, fetches: Record<string, ort.Tensor | null>): Promise<Results> {
    await this.settle();
    return this.ortSession.run(this.wrapFeeds(feeds), fetches);
  }

  private wrapFeeds(feeds: Feeds): Record<string, ort.Tensor> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const t of this.inputs) {
      const data = feeds[t.name];
      if (!data) throw new Error(`missing feed for graph input ${t.name}`);
      if (data.length !== t.size) throw new Error(`feed ${t.name}: ${data.length} values for shape [${t.shape}]`);
      ortFeeds[t.name] = new ort.Tensor(ORT_TYPE[t.dtype], data as never, t.shape as number[]);
    }
    return ortFeeds;
  }

  /** Stop profiling; onnxruntime writes the trace file (see profile.ts to read it). */
  endProfiling(): string {
    // onnxruntime-node returns nothing; the trace is the newest file with our prefix.
    this.ortSession.endProfiling();
    return newestProfile(this.profilePrefix!);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    liveSessions--;
    await this.ortSession.release();
  }
}

const ORT_TYPE = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool' } as const;
