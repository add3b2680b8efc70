import { type DB, now } from './db';

export interface RunnerRecord {
  abi: string;
  path: string;
  sha256: string;
  bytes: number;
  source: 'file' | 'download';
  elfMachine: string | null;
  addedAt: number;
}

/** The benchmark_model binary chosen for each ABI (one per ABI). */
export class RunnerQueries {
  constructor(private readonly db: DB) {}

  set(r: Omit<RunnerRecord, 'addedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO runners (abi, path, sha256, bytes, source, elf_machine, added_at) VALUES (@abi, @path, @sha256, @bytes, @source, @elfMachine, @t)
         ON CONFLICT(abi) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, bytes = excluded.bytes, source = excluded.source,
           elf_machine = excluded.elf_machine, added_at = excluded.added_at`,
      )
      .run({ ...r, t: now() });
  }

  get(abi: string): RunnerRecord | null {
    const r = this.db.prepare('SELECT * FROM runners WHERE abi = ?').get(abi) as Record<string, string | number | null> | undefined;
    return r ? toRecord(r) : null;
  }

  list(): RunnerRecord[] {
    return (this.db.prepare('SELECT * FROM runners ORDER BY abi').all() as Record<string, string | number | null>[]).map(toRecord);
  }

  remove(abi: string): void {
    this.db.prepare('DELETE FROM runners WHERE abi = ?').run(abi);
  }
}

function toRecord(r: Record<string, string | number | null>): RunnerRecord {
  return {
    abi: r.abi as string,
    path: r.path as string,
    sha256: r.sha256 as string,
    bytes: r.bytes as number,
    source: r.source as RunnerRecord['source'],
    elfMachine: r.elf_machine as string | null,
    addedAt: r.added_at as number,
  };
}
