/**
 * Session spinning policy: a lone multi-threaded session keeps its spinning workers; once another
 * session is live, it is rebuilt without spinning before its next run, and computes the same values.
 */
import { describe, expect, it } from '@jest/globals';
import { Graph } from '../../src/engine/graph.ts';
import { CompiledGraph } from '../../src/engine/session.ts';

function square(n: number) {
  const g = new Graph();
  const x = g.input('x', [n]);
  return { g, out: { y: x.mul(x).add(1) } };
}

describe('CompiledGraph spinning', () => {
  it('rebuilds a spinning session once a second one is live, with identical results; one compiled among others needs no rebuild', async () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => i / 7);
    const a = square(64);
    const first = await CompiledGraph.compile(a.g, a.out, { threads: 2 });
    const before = first.session;
    const y0 = (await first.run({ x })).y.data as Float32Array;
    expect(first.session).toBe(before); // alone: kept

    const b = square(64);
    const second = await CompiledGraph.compile(b.g, b.out, { threads: 2 });
    const y1 = (await first.run({ x })).y.data as Float32Array;
    expect(first.session).not.toBe(before); // rebuilt without spinning
    expect(Array.from(y1)).toEqual(Array.from(y0));
    const secondSession = second.session;
    await second.run({ x });
    expect(second.session).toBe(secondSession); // compiled without spinning: nothing to rebuild
    for (const s of [first, second]) await s.release();
  });
});
