import { describe, expect, it } from 'vitest';
import { paretoFrontier } from './pareto';
import { toCsv, toJson } from './table-export';

describe('paretoFrontier', () => {
  it('keeps the points nothing beats on both axes', () => {
    const pts = [
      { x: 10, y: 0.9 },
      { x: 5, y: 0.85 },
      { x: 7, y: 0.8 }, // dominated by (5, 0.85)
      { x: 20, y: 0.95 },
      { x: 25, y: 0.94 }, // dominated by (20, 0.95)
      { x: 5, y: 0.7 }, // dominated by (5, 0.85)
    ];
    expect(paretoFrontier(pts, (p) => p.x, (p) => p.y)).toEqual([
      { x: 5, y: 0.85 },
      { x: 10, y: 0.9 },
      { x: 20, y: 0.95 },
    ]);
  });
  it('ignores points with missing values', () => {
    expect(paretoFrontier([{ x: NaN, y: 1 }, { x: 1, y: 0.5 }], (p) => p.x, (p) => p.y)).toEqual([{ x: 1, y: 0.5 }]);
  });
});

describe('table export', () => {
  const cols = [
    { header: 'name', value: (r: { n: string; v: number | null }) => r.n },
    { header: 'value', value: (r: { n: string; v: number | null }) => r.v },
  ];
  it('quotes CSV cells that need it', () => {
    expect(toCsv([{ n: 'a,b', v: 1 }, { n: 'say "hi"', v: null }], cols)).toBe('name,value\r\n"a,b",1\r\n"say ""hi""",\r\n');
  });
  it('writes JSON objects keyed by header', () => {
    expect(JSON.parse(toJson([{ n: 'x', v: 2 }], cols))).toEqual([{ name: 'x', value: 2 }]);
  });
});
