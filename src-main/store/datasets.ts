import type { DatasetSummary } from '../../src-shared/types';
import { type DB, now, parseJson } from './db';

interface DatasetRecord {
  id: number;
  name: string;
  kind: string;
  source: string;
  content_hash: string;
  classes_json: string;
  counts_json: string;
  input_shape_json: string;
  created_at: number;
}

function toSummary(d: DatasetRecord): DatasetSummary {
  return {
    id: d.id,
    name: d.name,
    kind: d.kind,
    source: d.source,
    contentHash: d.content_hash,
    classes: parseJson(d.classes_json, []),
    counts: parseJson(d.counts_json, []),
    inputShape: parseJson(d.input_shape_json, []),
    createdAt: d.created_at,
  };
}

export class DatasetQueries {
  constructor(private readonly db: DB) {}

  /** Same kind and content hash -> same row (the name and source are refreshed). */
  upsert(d: Omit<DatasetSummary, 'id' | 'createdAt'>): number {
    const row = this.db
      .prepare(
        `INSERT INTO datasets (name, kind, source, content_hash, classes_json, counts_json, input_shape_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(kind, content_hash) DO UPDATE SET name = excluded.name, source = excluded.source
         RETURNING id`,
      )
      .get(d.name, d.kind, d.source, d.contentHash, JSON.stringify(d.classes), JSON.stringify(d.counts), JSON.stringify(d.inputShape), now()) as {
      id: number;
    };
    return row.id;
  }

  get(id: number): DatasetSummary | null {
    const r = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRecord | undefined;
    return r ? toSummary(r) : null;
  }

  list(): DatasetSummary[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY created_at DESC').all() as DatasetRecord[]).map(toSummary);
  }
}
