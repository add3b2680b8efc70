/** Graph view: dagre places every node and edge; op-profile rows colour operators by latency and placement; two profiles diff by type. */
import { describe, expect, it } from 'vitest';
import { layoutGraph, opDiff, opTimings } from '../src-renderer/src/lib/graph-view';
import type { ModelGraph } from '../src-shared/contract/export';

const g: ModelGraph = {
  format: 'tflite',
  nodes: [
    { id: 'in0', kind: 'input', op: 'Input', label: 'x', shape: [1, 4] },
    { id: 'op0', kind: 'op', op: 'CONV_2D', label: 'c1', shape: [], index: 0 },
    { id: 'op1', kind: 'op', op: 'CONV_2D', label: 'c2', shape: [], index: 1 },
    { id: 'op2', kind: 'op', op: 'SOFTMAX', label: 'p', shape: [], index: 2 },
    { id: 'out0', kind: 'output', op: 'Output', label: 'p', shape: [] },
  ],
  edges: [{ from: 'in0', to: 'op0' }, { from: 'op0', to: 'op1' }, { from: 'op1', to: 'op2' }, { from: 'op2', to: 'out0' }],
};

describe('graph view', () => {
  it('lays out every node top to bottom in execution order', () => {
    const p = layoutGraph(g);
    expect(p.nodes).toHaveLength(5);
    expect(p.edges).toHaveLength(4);
    const ys = p.nodes.map((n) => n.y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
    expect(p.width).toBeGreaterThan(0);
    for (const e of p.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
  });
  it('gives each operator its run-order time, and delegated operators their delegate', () => {
    const cpu = opTimings(g, [
      { section: 'run_order', nodeType: 'CONV_2D', avgMs: 0.5 },
      { section: 'run_order', nodeType: 'CONV_2D', avgMs: 0.2 },
      { section: 'run_order', nodeType: 'SOFTMAX', avgMs: 0.01 },
      { section: 'by_type', nodeType: 'CONV_2D', avgMs: 0.7 },
    ]);
    expect(cpu.get('op0')).toEqual({ ms: 0.5, ranOn: 'CPU' });
    expect(cpu.get('op1')).toEqual({ ms: 0.2, ranOn: 'CPU' });
    const delegated = opTimings(g, [{ section: 'run_order', nodeType: 'TfLiteXNNPackDelegate', avgMs: 0.6 }, { section: 'run_order', nodeType: 'SOFTMAX', avgMs: 0.01 }]);
    expect(delegated.get('op0')).toEqual({ ranOn: 'XNNPack' });
    expect(delegated.get('op2')).toEqual({ ms: 0.01, ranOn: 'CPU' });
  });
  it('diffs two op profiles by type, largest change first', () => {
    const d = opDiff(
      [{ section: 'by_type', nodeType: 'CONV_2D', avgMs: 1 }, { section: 'by_type', nodeType: 'SOFTMAX', avgMs: 0.1 }],
      [{ section: 'by_type', nodeType: 'CONV_2D', avgMs: 0.4 }, { section: 'by_type', nodeType: 'SOFTMAX', avgMs: 0.1 }, { section: 'by_type', nodeType: 'QUANTIZE', avgMs: 0.05 }],
    );
    expect(d[0]).toEqual({ type: 'CONV_2D', aMs: 1, bMs: 0.4, deltaMs: expect.closeTo(-0.6) });
    expect(d.find((r) => r.type === 'QUANTIZE')).toEqual({ type: 'QUANTIZE', aMs: null, bMs: 0.05, deltaMs: null });
  });
});
