/**
 * transformer.ts mlp(): fc2(GELU(fc1(x))) with GELU's 1/√2 factors moved into the two GEMMs (alpha/beta)
 * and Tensor.erfGate in between. It must compute exactly what the textbook composition computes, with or
 * without a LoRA adapter on either layer, and its gradients must match finite differences.
 */
import { describe, expect, test } from '@jest/globals';
import { Graph, type Tensor } from '../../src/engine/graph.ts';
import { gradCheck } from '../../src/engine/gradcheck.ts';
import { CompiledGraph } from '../../src/engine/session.ts';
import { type ParamLookup } from '../../src/engine/params.ts';
import { linear, mlp } from '../../src/models/transformer.ts';
import { Rng } from '../../src/util/rng.ts';

const D = 4, H = 6, R = 2;
const F = 'float64';

function layerShapes(lora: boolean): Record<string, number[]> {
  const s: Record<string, number[]> = { 'm.fc1.weight': [D, H], 'm.fc1.bias': [H], 'm.fc2.weight': [H, D], 'm.fc2.bias': [D] };
  if (lora) {
    Object.assign(s, {
      'm.fc1.lora_A': [D, R], 'm.fc1.lora_B': [R, H], 'm.fc1.lora_scale': [1],
      'm.fc2.lora_A': [H, R], 'm.fc2.lora_B': [R, D], 'm.fc2.lora_scale': [1],
    });
  }
  return s;
}

/** Every layer parameter as a float64 graph parameter (scales too: their gradient is checked as well). */
function lookup(g: Graph, lora: boolean): ParamLookup {
  const shapes = layerShapes(lora);
  const bound = new Map<string, Tensor>();
  const P = (name: string): Tensor => {
    if (!bound.has(name)) bound.set(name, g.param(name, shapes[name], F));
    return bound.get(name)!;
  };
  return Object.assign(P, { has: (name: string) => name in shapes });
}

function values(lora: boolean, seed: number): Record<string, Float64Array> {
  const rng = new Rng(seed);
  // Scale 0.7 keeps GELU's inputs within |a| ≲ 4 (erf's argument ≲ 3), where float64's erf64 is exact
  // to ~1e-14 and central differences are meaningful; the values still reach GELU's curved part.
  const draw = (n: number): Float64Array => Float64Array.from({ length: n }, () => 0.7 * rng.normal());
  const out: Record<string, Float64Array> = { x: draw(3 * 2 * D) };
  for (const [name, shape] of Object.entries(layerShapes(lora))) out[name] = draw(shape.reduce((a, b) => a * b, 1));
  return out;
}

describe.each([false, true])('mlp (LoRA on both layers: %s)', (lora) => {
  // ONNX stores Gemm's alpha and beta as float32, so √½ carries a relative error ≤ 2⁻²⁴ ≈ 6e-8 into
  // each of the two factors: the folded form agrees with the textbook one to ~1e-7 relative, not 1e-15.
  test('equals fc2(x·Φ(x)) of fc1 in float64 (to 1e-6 relative: float32 alpha)', async () => {
    const g = new Graph();
    const x = g.input('x', [3, 2, D], F);
    const P = lookup(g, lora);
    const folded = mlp(x, P, 'm');
    const textbook = linear(linear(x, P, 'm.fc1').gelu(), P, 'm.fc2');
    const c = await CompiledGraph.compile(g, { folded, textbook }, { threads: 1 });
    const r = await c.run(values(lora, 7));
    const a = r.folded.data as Float64Array, b = r.textbook.data as Float64Array;
    expect(a.length).toBe(3 * 2 * D);
    const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / (1 + Math.abs(b[i]))));
    expect(worst).toBeLessThan(1e-6);
    expect(worst).toBeGreaterThan(0); // the two graphs really differ: the comparison is not of one graph with itself
    await c.release();
  });

  test('gradients of every parameter and of x match central finite differences (≤ 1e-5)', async () => {
    const v = values(lora, 11);
    const res = await gradCheck((g) => mlp(g.param('x', [3, 2, D], F), lookup(g, lora), 'm'), { values: v });
    const bad = Object.entries(res.relErrors).filter(([, e]) => !(e <= 1e-5));
    expect(bad).toEqual([]);
    expect(Object.keys(res.relErrors).length).toBe(Object.keys(v).length);
  });
});
