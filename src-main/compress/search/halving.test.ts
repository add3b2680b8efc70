import { describe, expect, it } from 'vitest';
import { FINALISTS, rungSchedule, selectSurvivors } from './halving';

describe('successive halving', () => {
  it('rungs shrink by eta to the finalists while epochs grow to the full budget', () => {
    expect(rungSchedule(8, 3, 1, 8)).toEqual([
      { size: 8, epochs: 1 },
      { size: 3, epochs: 3 },
      { size: 2, epochs: 8 },
    ]);
    expect(rungSchedule(2, 3, 1, 6)).toEqual([{ size: 2, epochs: 6 }]);
    expect(rungSchedule(27, 3, 1, 20).map((r) => r.size)).toEqual([27, 9, 3, 2]);
    expect(rungSchedule(27, 3, 1, 20).at(-1)!.size).toBe(FINALISTS);
  });

  it('keeps whole non-dominated fronts first and says who dominated a dropped candidate', () => {
    const items = [
      { id: 'big', valAccuracy: 0.9, predictedLatencyUs: 300 },
      { id: 'small', valAccuracy: 0.85, predictedLatencyUs: 50 },
      { id: 'mid', valAccuracy: 0.88, predictedLatencyUs: 120 },
      { id: 'worse', valAccuracy: 0.86, predictedLatencyUs: 200 },
      { id: 'worst', valAccuracy: 0.8, predictedLatencyUs: 400 },
    ];
    const { kept, dropped } = selectSurvivors(items, 3);
    expect(kept.sort()).toEqual(['big', 'mid', 'small']);
    expect(dropped.get('worse')).toMatch(/^mid was at least as accurate \(88\.0 % vs 86\.0 %/);
    expect(dropped.get('worst')).toMatch(/was at least as accurate/);
    // A front larger than the room: the most accurate of it are kept.
    const two = selectSurvivors(items, 2);
    expect(two.kept).toEqual(['big', 'mid']);
    expect(two.dropped.get('small')).toMatch(/not among the 2 kept/);
  });
});
