/** Comparisons of graph outputs with the PyTorch reference fixtures (test/fixtures/hf, scripts/hf-reference). */
import { expect } from '@jest/globals';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import { bindParams } from '../../src/engine/params.ts';
import { grad } from '../../src/engine/autodiff.ts';
import { CompiledGraph, type Feeds } from '../../src/engine/session.ts';
import { tokenCE } from '../../src/engine/losses.ts';
import { addLora } from '../../src/models/lora.ts';
import { type BatchShape, type LoadedModel } from '../../src/models/model.ts';

/** Rows of token ids as an int64 tensor's data. */
export const int64 = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));

/** max |a − b| / max |b|: the error relative to the reference's largest value. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** The reference fixtures' LoRA record (expected.json's `lora`). */
export interface LoraReference {
  rank: number;
  alpha: number;
  layers: string[];
  targets: number[][];
  loss: number;
}

/**
 * Adds LoRA adapters on `patterns` (they must pick exactly the reference's layers), sets them to the reference's
 * values, and checks the token cross-entropy and its gradients with respect to every adapter against PyTorch's
 * (relative 1e-4).
 */
export async function expectLoraGradients(
  model: LoadedModel, l: LoraReference, patterns: string[], refOf: (name: string) => Float32Array, shape: BatchShape, feeds: Feeds,
): Promise<void> {
  const layers = addLora(model.params, { rank: l.rank, alpha: l.alpha, targets: patterns }, 1, model.linearLayers?.());
  expect(layers.sort()).toEqual([...l.layers].sort());
  for (const prefix of layers) {
    model.params.get(`${prefix}.lora_A`).data.set(refOf(`${prefix}.lora_A`));
    model.params.get(`${prefix}.lora_B`).data.set(refOf(`${prefix}.lora_B`));
  }
  const g = new Graph();
  const P = bindParams(g, model.params);
  const targets = g.input('targets', [shape.B, shape.S], 'int64');
  const loss = tokenCE(model.forward(g, P, model.declareInputs(g, shape)).logits, targets);
  const wrt = layers.flatMap((p) => [`${p}.lora_A`, `${p}.lora_B`]);
  const grads = grad(loss, wrt.map((n) => P(n)));
  const outputs: Record<string, Tensor> = { loss };
  wrt.forEach((n, i) => (outputs[`d_${n}`] = grads[i]));
  const c = await CompiledGraph.compile(g, outputs, { threads: 1 });
  const r = await c.run({ ...model.params.feeds(), ...feeds, targets: int64(l.targets) });
  await c.release();
  expect(Math.abs((r.loss.data as Float32Array)[0] - l.loss) / l.loss).toBeLessThan(1e-4);
  for (const n of wrt) expect([n, relErr(r[`d_${n}`].data as Float32Array, refOf(`${n}.grad`)) < 1e-4]).toEqual([n, true]);
}
