/**
 * Learning-rate schedules from the recipe schema, as a pure function of the epoch (0-based):
 * - constant: `lr`;
 * - cosine: from `lr` at epoch 0 down towards `lr * minFactor`, following half a cosine over `epochs`
 *   (`lr * (minFactor + (1 - minFactor) * (1 + cos(pi * epoch / epochs)) / 2)`);
 * - step: `lr * gamma ^ floor(epoch / everyEpochs)`.
 */
import type { z } from 'zod';
import type { lrScheduleSchema } from '../../../src-shared/recipe';

export type LrSchedule = z.infer<typeof lrScheduleSchema>;

export function learningRateAt(schedule: LrSchedule | undefined, baseLr: number, epoch: number, epochs: number): number {
  const s = schedule ?? { kind: 'constant' };
  switch (s.kind) {
    case 'constant':
      return baseLr;
    case 'cosine': {
      const f = s.minFactor ?? 0.01;
      return baseLr * (f + ((1 - f) * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)))) / 2);
    }
    case 'step':
      return baseLr * Math.pow(s.gamma ?? 0.5, Math.floor(epoch / s.everyEpochs));
  }
}
