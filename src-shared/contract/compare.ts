/** Compare and Trends: reading across artifacts, benchmarks and devices. */
import { z } from 'zod';
import { method } from '../rpc';
import type { CompareRow, Lineage, TrendPoint } from '../types';
import { id } from './common';

export const compareMethods = {
  'compare.rows': method<CompareRow[]>()(
    z
      .object({
        artifactIds: z.array(id).max(500).optional(),
        runIds: z.array(id).max(500).optional(),
        deviceId: id.optional(),
        delegate: z.enum(['cpu', 'xnnpack', 'gpu', 'nnapi']).optional(),
        threads: z.number().int().min(1).max(64).optional(),
        includeUnbenchmarked: z.boolean().default(true),
        limit: z.number().int().min(1).max(20_000).default(2000),
      })
      .default({ includeUnbenchmarked: true, limit: 2000 }),
    'Artifacts with their benchmarks (one row per artifact × benchmark), filtered by device, delegate and threads.',
  ),
  'trends.lineages': method<Lineage[]>()(z.undefined().or(z.null()).optional(), 'Model lineages (recipe name × artifact name × device) that have history.'),
  'trends.series': method<TrendPoint[]>()(
    z.object({
      runName: z.string().min(1).max(200),
      artifactName: z.string().min(1).max(300),
      deviceId: id.nullable(),
      metric: z.enum(['latencyUs', 'peakMemMb', 'accuracy', 'deployedAccuracy', 'bytes', 'gzipBytes']),
    }),
    'One metric over time for a lineage, with points flagged where the change exceeds the combined 95 % intervals.',
  ),
} as const;
