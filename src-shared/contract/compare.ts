/** Compare and Trends: reading across artifacts, benchmarks and devices. */
import { z } from 'zod';
import { method } from '../rpc';
import type { CompareFacets, CompareRow, Lineage, TeamSettings, TrendPoint } from '../types';
import { id } from './common';

/** Team filters: who made the benchmark, on which machine, on a phone from which device source. */
const teamFilter = {
  madeBy: z.string().min(1).max(200).optional(),
  machine: z.string().min(1).max(255).optional(),
  deviceSource: z.string().min(1).max(300).optional(),
};

export const compareMethods = {
  'compare.rows': method<CompareRow[]>()(
    z
      .object({
        artifactIds: z.array(id).max(500).optional(),
        runIds: z.array(id).max(500).optional(),
        deviceId: id.optional(),
        delegate: z.enum(['cpu', 'xnnpack', 'gpu', 'nnapi']).optional(),
        threads: z.number().int().min(1).max(64).optional(),
        ...teamFilter,
        includeUnbenchmarked: z.boolean().default(true),
        limit: z.number().int().min(1).max(20_000).default(2000),
      })
      .default({ includeUnbenchmarked: true, limit: 2000 }),
    'Artifacts with their benchmarks (one row per artifact × benchmark), filtered by device, delegate, threads, person, machine and device source.',
  ),
  'compare.facets': method<CompareFacets>()(z.undefined().or(z.null()).optional(), 'People, machines and device sources that occur in the history (the team filters).'),
  'trends.lineages': method<Lineage[]>()(z.undefined().or(z.null()).optional(), 'Model lineages (recipe name × artifact name × device) that have history.'),
  'trends.series': method<TrendPoint[]>()(
    z.object({
      runName: z.string().min(1).max(200),
      artifactName: z.string().min(1).max(300),
      deviceId: id.nullable(),
      /** Every phone of this model instead of one device (the same model in several labs). */
      deviceModel: z.string().min(1).max(200).optional(),
      ...teamFilter,
      metric: z.enum(['latencyUs', 'peakMemMb', 'accuracy', 'deployedAccuracy', 'bytes', 'gzipBytes']),
    }),
    'One metric over time for a lineage, with points flagged where the change exceeds the combined 95 % intervals.',
  ),
  'team.get': method<TeamSettings>()(z.undefined().or(z.null()).optional(), "The team's shared history and artifact folder, and the name recorded on runs and benchmarks."),
  'team.set': method<TeamSettings>()(
    z.object({
      /** postgres://… (checked by connecting before it is saved); null: back to the local history. */
      databaseUrl: z.string().trim().max(2000).regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').nullable().optional(),
      artifactsDir: z.string().trim().min(1).max(4096).nullable().optional(),
      userName: z.string().trim().min(1).max(200).nullable().optional(),
    }),
    'Save the team settings (the database and artifact folder apply at the next start).',
  ),
} as const;
