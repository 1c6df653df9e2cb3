/**
 * Named float32 parameters owned by the caller. Sessions read them as graph inputs without copying. A
 * Trainer copies each trainable parameter once into its WebAssembly memory and points the entry's `data`
 * at that copy; every step then updates the values there in place (step.ts), so readers of `data` always
 * see the current values.
 */
import { type Graph, type Shape, type Tensor, sizeOf } from './graph.ts';

export interface ParamEntry {
  readonly name: string;
  readonly shape: Shape;
  data: Float32Array;
  trainable: boolean;
}

export class ParamStore {
  private readonly map = new Map<string, ParamEntry>();

  add(name: string, shape: Shape, data?: Float32Array, trainable = true): ParamEntry {
    if (this.map.has(name)) throw new Error(`parameter ${name} already exists`);
    const n = sizeOf(shape);
    if (data && data.length !== n) throw new Error(`parameter ${name}: ${data.length} values for shape [${shape}]`);
    const e: ParamEntry = { name, shape: shape.slice(), data: data ?? new Float32Array(n), trainable };
    this.map.set(name, e);
    return e;
  }
  get(name: string): ParamEntry {
    const e = this.map.get(name);
    if (!e) throw new Error(`unknown parameter ${name}`);
    return e;
  }
  has(name: string): boolean { return this.map.has(name); }
  remove(name: string): void {
    if (!this.map.delete(name)) throw new Error(`unknown parameter ${name}`);
  }
  entries(): ParamEntry[] { return [...this.map.values()]; }
  names(): string[] { return [...this.map.keys()]; }
  /** Total number of scalars; with trainableOnly, only those that train. */
  count(trainableOnly = false): number {
    let n = 0;
    for (const e of this.map.values()) if (!trainableOnly || e.trainable) n += e.data.length;
    return n;
  }
  /** Freeze (or unfreeze) every parameter whose name matches. */
  setTrainable(match: (name: string) => boolean, trainable: boolean): void {
    for (const e of this.map.values()) if (match(e.name)) e.trainable = trainable;
  }
  /** A deep copy (a frozen reference model, a checkpoint snapshot). */
  clone(): ParamStore {
    const c = new ParamStore();
    for (const e of this.map.values()) c.add(e.name, e.shape, e.data.slice(), e.trainable);
    return c;
  }
  /** Feeds for a session: name → buffer. */
  feeds(): Record<string, Float32Array> {
    const f: Record<string, Float32Array> = {};
    for (const e of this.map.values()) f[e.name] = e.data;
    return f;
  }
}

/** A graph's view of a parameter store: call it to get (and declare on first use) a parameter. */
export interface ParamLookup {
  (name: string): Tensor;
  /** Whether the store has the parameter (optional parts such as LoRA adapters). */
  has(name: string): boolean;
}

/** Declare the store's parameters in a graph on first use (each name once), as graph parameters. */
export function bindParams(g: Graph, store: ParamStore): ParamLookup {
  const bound = new Map<string, Tensor>();
  const lookup = (name: string): Tensor => {
    let t = bound.get(name);
    if (!t) {
      t = g.param(name, store.get(name).shape);
      bound.set(name, t);
    }
    return t;
  };
  return Object.assign(lookup, { has: (name: string) => store.has(name) });
}
