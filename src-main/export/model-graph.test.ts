/** The graph view's data: operators and tensors of a real exported .tflite, and layers of a TF.js model.json. */
import { describe, expect, it } from 'vitest';
import { tfjsGraph, tfliteGraph } from './model-graph';
import { TfliteGraph } from '../../test/helpers/tflite-builder';

describe('model graph', () => {
  it('reads a .tflite as operators joined by their tensors, with a residual branch', () => {
    const g = new TfliteGraph();
    const x = g.value('x', [1, 4]);
    const a = g.value('a', [1, 4]);
    const b = g.value('b', [1, 4]);
    const y = g.value('y', [1, 4]);
    g.op('RELU', [x], [a]);
    g.op('TANH', [a], [b]);
    g.op('ADD', [a, b], [y]);
    const graph = tfliteGraph(g.bytes([x], [y]));
    expect(graph.nodes.map((n) => [n.id, n.op, n.label])).toEqual([['in0', 'Input', 'x'], ['op0', 'RELU', 'a'], ['op1', 'TANH', 'b'], ['op2', 'ADD', 'y'], ['out0', 'Output', 'y']]);
    expect(graph.edges).toEqual([{ from: 'in0', to: 'op0' }, { from: 'op0', to: 'op1' }, { from: 'op0', to: 'op2' }, { from: 'op1', to: 'op2' }, { from: 'op2', to: 'out0' }]);
  });

  it('reads a TF.js Sequential model as a chain and a functional one by its inbound nodes', () => {
    const seq = tfjsGraph({ modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Conv2D', config: { name: 'c1', batch_input_shape: [null, 8, 8, 1] } }, { class_name: 'Dense', config: { name: 'd' } }] } } });
    expect(seq.nodes.map((n) => n.label)).toEqual(['c1', 'd']);
    expect(seq.edges).toEqual([{ from: 'l:c1', to: 'l:d' }]);
    const fn = tfjsGraph({
      modelTopology: {
        model_config: {
          class_name: 'Model',
          config: {
            layers: [
              { class_name: 'InputLayer', config: { name: 'x' }, inbound_nodes: [] },
              { class_name: 'Dense', config: { name: 'a' }, inbound_nodes: [[['x', 0, 0, {}]]] },
              { class_name: 'Dense', config: { name: 'b' }, inbound_nodes: [[['x', 0, 0, {}]]] },
              { class_name: 'Add', config: { name: 'sum' }, inbound_nodes: [[['a', 0, 0, {}], ['b', 0, 0, {}]]] },
            ],
          },
        },
      },
    });
    expect(fn.nodes[0].kind).toBe('input');
    expect(fn.edges).toEqual([{ from: 'l:x', to: 'l:a' }, { from: 'l:x', to: 'l:b' }, { from: 'l:a', to: 'l:sum' }, { from: 'l:b', to: 'l:sum' }]);
    expect(() => tfjsGraph({})).toThrow(/no layer list/);
  });
});
