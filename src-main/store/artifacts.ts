import type { ArtifactFormat, ArtifactSummary, Precision } from '../../src-shared/types';
import { type DB, json, now, parseJson } from './db';

interface ArtifactRecord {
  id: number;
  run_id: number | null;
  stage_id: number | null;
  parent_id: number | null;
  name: string;
  format: ArtifactFormat;
  path: string;
  content_hash: string;
  bytes: number;
  gzip_bytes: number | null;
  params: number | null;
  nonzero_params: number | null;
  sparsity: number | null;
  precision: Precision | null;
  macs: number | null;
  metrics_json: string | null;
  created_at: number;
}

export type NewArtifact = Omit<ArtifactSummary, 'id' | 'createdAt' | 'runId' | 'stageId' | 'parentId' | 'gzipBytes' | 'params' | 'nonzeroParams' | 'sparsity' | 'precision' | 'macs' | 'metrics'> &
  Partial<Pick<ArtifactSummary, 'runId' | 'stageId' | 'parentId' | 'gzipBytes' | 'params' | 'nonzeroParams' | 'sparsity' | 'precision' | 'macs' | 'metrics'>>;

function toSummary(a: ArtifactRecord): ArtifactSummary {
  return {
    id: a.id,
    runId: a.run_id,
    stageId: a.stage_id,
    parentId: a.parent_id,
    name: a.name,
    format: a.format,
    path: a.path,
    contentHash: a.content_hash,
    bytes: a.bytes,
    gzipBytes: a.gzip_bytes,
    params: a.params,
    nonzeroParams: a.nonzero_params,
    sparsity: a.sparsity,
    precision: a.precision,
    macs: a.macs,
    metrics: parseJson(a.metrics_json, null),
    createdAt: a.created_at,
  };
}

export class ArtifactQueries {
  constructor(private readonly db: DB) {}

  create(a: NewArtifact): number {
    const info = this.db
      .prepare(
        `INSERT INTO artifacts (run_id, stage_id, parent_id, name, format, path, content_hash, bytes, gzip_bytes, params,
           nonzero_params, sparsity, precision, macs, metrics_json, created_at)
         VALUES (@runId, @stageId, @parentId, @name, @format, @path, @contentHash, @bytes, @gzipBytes, @params,
           @nonzeroParams, @sparsity, @precision, @macs, @metrics, @createdAt)`,
      )
      .run({
        runId: a.runId ?? null,
        stageId: a.stageId ?? null,
        parentId: a.parentId ?? null,
        name: a.name,
        format: a.format,
        path: a.path,
        contentHash: a.contentHash,
        bytes: a.bytes,
        gzipBytes: a.gzipBytes ?? null,
        params: a.params ?? null,
        nonzeroParams: a.nonzeroParams ?? null,
        sparsity: a.sparsity ?? null,
        precision: a.precision ?? null,
        macs: a.macs ?? null,
        metrics: json(a.metrics),
        createdAt: now(),
      });
    return Number(info.lastInsertRowid);
  }

  get(id: number): ArtifactSummary | null {
    const r = this.db.prepare('SELECT * FROM artifacts WHERE id = ?').get(id) as ArtifactRecord | undefined;
    return r ? toSummary(r) : null;
  }

  list(opts: { limit: number; offset: number; runId?: number }): { items: ArtifactSummary[]; total: number } {
    const where = opts.runId !== undefined ? 'WHERE run_id = @runId' : '';
    const items = (
      this.db
        .prepare(`SELECT * FROM artifacts ${where} ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset`)
        .all({ runId: opts.runId, limit: opts.limit, offset: opts.offset }) as ArtifactRecord[]
    ).map(toSummary);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM artifacts ${where}`).get({ runId: opts.runId }) as { n: number }).n;
    return { items, total };
  }

  /**
   * Stored artifacts of this format whose file has this content hash (a .tflite's SHA-256), newest
   * first. Used once per CLI benchmark of a bare path; no index on content_hash, a scan is fine there.
   */
  withContent(format: ArtifactFormat, contentHash: string): ArtifactSummary[] {
    return (this.db.prepare('SELECT * FROM artifacts WHERE format = ? AND content_hash = ? ORDER BY id DESC LIMIT 20').all(format, contentHash) as ArtifactRecord[]).map(toSummary);
  }

  /** The chain from this artifact up to its root (self first). */
  lineage(id: number): ArtifactSummary[] {
    return (
      this.db
        .prepare(
          `WITH RECURSIVE chain(id, depth) AS (
             SELECT id, 0 FROM artifacts WHERE id = ?
             UNION ALL SELECT a.parent_id, c.depth + 1 FROM artifacts a JOIN chain c ON a.id = c.id WHERE a.parent_id IS NOT NULL
           ) SELECT a.* FROM chain c JOIN artifacts a ON a.id = c.id ORDER BY c.depth`,
        )
        .all(id) as ArtifactRecord[]
    ).map(toSummary);
  }

  updateMetrics(id: number, metrics: Record<string, unknown>): void {
    const cur = this.get(id);
    if (!cur) throw new Error(`No artifact ${id}`);
    this.db.prepare('UPDATE artifacts SET metrics_json = ? WHERE id = ?').run(json({ ...(cur.metrics ?? {}), ...metrics }), id);
  }

  /** Paths of the artifacts matching `where` (a fixed SQL fragment with one `?`). */
  pathsOwnedBy(where: 'run_id = ?' | 'id = ?', value: number): string[] {
    return (this.db.prepare(`SELECT DISTINCT path FROM artifacts WHERE ${where}`).all(value) as { path: string }[]).map((r) => r.path);
  }

  /** Of `paths`, those no artifact row points at any more (content-hashed files can be shared). */
  unreferenced(paths: string[]): string[] {
    const q = this.db.prepare('SELECT 1 FROM artifacts WHERE path = ? LIMIT 1');
    return paths.filter((p) => !q.get(p));
  }

  delete(id: number): { found: boolean; orphanedPaths: string[] } {
    return this.db.transaction(() => {
      const paths = this.pathsOwnedBy('id = ?', id);
      const info = this.db.prepare('DELETE FROM artifacts WHERE id = ?').run(id);
      return { found: info.changes > 0, orphanedPaths: this.unreferenced(paths) };
    })();
  }
}
