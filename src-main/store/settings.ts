import { type DB, now, parseJson } from './db';

export class SettingsQueries {
  constructor(private readonly db: DB) {}

  all(): Record<string, unknown> {
    const rows = this.db.prepare('SELECT key, value_json FROM settings ORDER BY key').all() as { key: string; value_json: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, parseJson(r.value_json, null)]));
  }

  get<T>(key: string, fallback: T): T {
    const row = this.db.prepare('SELECT value_json FROM settings WHERE key = ?').get(key) as { value_json: string } | undefined;
    return row ? parseJson(row.value_json, fallback) : fallback;
  }

  set(key: string, value: unknown): void {
    if (value === undefined || value === null) {
      this.db.prepare('DELETE FROM settings WHERE key = ?').run(key);
      return;
    }
    this.db
      .prepare(`INSERT INTO settings (key, value_json, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`)
      .run(key, JSON.stringify(value), now());
  }
}
