/**
 * Layout and colouring for the model graph view: dagre (a maintained layered-graph layout, no DOM)
 * places the nodes; an op-profiled benchmark gives each operator its latency (TFLite's run-order
 * profile lists operators in execution order, so the k-th row of a type is the k-th operator of that
 * type) and where it ran (a delegate's row stands for the operators it took over). Pure: unit-tested
 * in test/graph-view.test.ts.
 */
import { Graph, layout } from '@dagrejs/dagre';
import type { ModelGraph } from '../../../src-shared/contract/export';

export interface OpRow {
  section: string;
  nodeType: string;
  nodeName?: string | null;
  avgMs?: number | null;
}

export interface PlacedNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  node: ModelGraph['nodes'][number];
}

export interface Placed {
  nodes: PlacedNode[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
  width: number;
  height: number;
}

export function layoutGraph(g: ModelGraph): Placed {
  const dg = new Graph();
  dg.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 32, marginx: 8, marginy: 8 });
  dg.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) dg.setNode(n.id, { width: Math.max(120, Math.min(220, 8 * Math.max(n.op.length, n.label.length) + 16)), height: 40 });
  for (const e of g.edges) if (dg.hasNode(e.from) && dg.hasNode(e.to)) dg.setEdge(e.from, e.to);
  layout(dg);
  const nodes = g.nodes.map((node) => {
    const p = dg.node(node.id) as { x: number; y: number; width: number; height: number };
    return { id: node.id, x: p.x, y: p.y, width: p.width, height: p.height, node };
  });
  const edges = dg.edges().map((e) => ({ from: e.v, to: e.w, points: ((dg.edge(e) as { points?: { x: number; y: number }[] }).points ?? []).map((q) => ({ x: q.x, y: q.y })) }));
  const gl = dg.graph() as { width?: number; height?: number };
  return { nodes, edges, width: gl.width ?? 0, height: gl.height ?? 0 };
}

export type Placement = 'CPU' | 'XNNPack' | 'GPU' | 'NNAPI' | 'other delegate';

export interface OpTiming {
  ms?: number;
  ranOn: Placement;
}

const delegateOf = (type: string): Placement | null =>
  /xnnpack/i.test(type) ? 'XNNPack' : /gpu/i.test(type) ? 'GPU' : /nnapi/i.test(type) ? 'NNAPI' : /delegate/i.test(type) ? 'other delegate' : null;

/**
 * Latency and placement per operator node (by node id) from a benchmark's run-order rows. Operators
 * with their own row ran on the CPU kernels; the others were taken by the delegate whose row the
 * profile shows (its time covers all of them together, so they get no time of their own).
 */
export function opTimings(g: ModelGraph, rows: readonly OpRow[]): Map<string, OpTiming> {
  const runOrder = rows.filter((r) => r.section === 'run_order');
  const delegates = runOrder.map((r) => delegateOf(r.nodeType)).filter((d): d is Placement => d !== null);
  const byType = new Map<string, OpRow[]>();
  for (const r of runOrder) if (!delegateOf(r.nodeType)) byType.set(r.nodeType, [...(byType.get(r.nodeType) ?? []), r]);
  const seen = new Map<string, number>();
  const out = new Map<string, OpTiming>();
  for (const n of g.nodes) {
    if (n.kind !== 'op') continue;
    const k = seen.get(n.op) ?? 0;
    seen.set(n.op, k + 1);
    const row = byType.get(n.op)?.[k];
    if (row) out.set(n.id, { ms: row.avgMs ?? undefined, ranOn: 'CPU' });
    else if (delegates.length) out.set(n.id, { ranOn: delegates[0] });
  }
  return out;
}

/** A heat colour from pale to deep red by the node's share of the slowest operator's time. */
export function heat(ms: number, max: number): string {
  const t = max > 0 ? Math.max(0, Math.min(1, ms / max)) : 0;
  const l = Math.round(92 - t * 47);
  return `hsl(8 85% ${l}%)`;
}

export const placementColours: Record<Placement, string> = { CPU: '#e5e7eb', XNNPack: '#bfdbfe', GPU: '#bbf7d0', NNAPI: '#fde68a', 'other delegate': '#e9d5ff' };

/** Two benchmarks' per-type times side by side, largest change first. */
export function opDiff(a: readonly OpRow[], b: readonly OpRow[]): { type: string; aMs: number | null; bMs: number | null; deltaMs: number | null }[] {
  const sum = (rows: readonly OpRow[]) => {
    const m = new Map<string, number>();
    for (const r of rows) if (r.section === 'by_type' && typeof r.avgMs === 'number') m.set(r.nodeType, (m.get(r.nodeType) ?? 0) + r.avgMs);
    return m;
  };
  const A = sum(a);
  const B = sum(b);
  const types = [...new Set([...A.keys(), ...B.keys()])];
  return types
    .map((type) => {
      const aMs = A.get(type) ?? null;
      const bMs = B.get(type) ?? null;
      return { type, aMs, bMs, deltaMs: aMs !== null && bMs !== null ? bMs - aMs : null };
    })
    .sort((x, y) => Math.abs(y.deltaMs ?? Math.max(y.aMs ?? 0, y.bMs ?? 0)) - Math.abs(x.deltaMs ?? Math.max(x.aMs ?? 0, x.bMs ?? 0)));
}
