import type { DeviceKind, DeviceSummary } from '../../src-shared/types';
import { type DB, now, parseJson } from './db';

interface DeviceRecord {
  id: number;
  serial: string;
  kind: DeviceKind;
  manufacturer: string | null;
  model: string | null;
  android_version: string | null;
  sdk: number | null;
  abis_json: string;
  soc: string | null;
  ram_bytes: number | null;
  facts_json: string;
  first_seen: number;
  last_seen: number;
}

export type DeviceFactsInput = Partial<Omit<DeviceSummary, 'id' | 'serial' | 'kind' | 'firstSeen' | 'lastSeen'>>;

function toSummary(d: DeviceRecord): DeviceSummary {
  return {
    id: d.id,
    serial: d.serial,
    kind: d.kind,
    manufacturer: d.manufacturer,
    model: d.model,
    androidVersion: d.android_version,
    sdk: d.sdk,
    abis: parseJson(d.abis_json, []),
    soc: d.soc,
    ramBytes: d.ram_bytes,
    facts: parseJson(d.facts_json, {}),
    firstSeen: d.first_seen,
    lastSeen: d.last_seen,
  };
}

export class DeviceQueries {
  constructor(private readonly db: DB) {}

  /** Insert or refresh a device by serial; facts not given keep their stored value. Returns its id. */
  upsert(serial: string, kind: DeviceKind, facts: DeviceFactsInput = {}): number {
    const t = now();
    const row = this.db
      .prepare(
        `INSERT INTO devices (serial, kind, manufacturer, model, android_version, sdk, abis_json, soc, ram_bytes, facts_json, first_seen, last_seen)
         VALUES (@serial, @kind, @manufacturer, @model, @androidVersion, @sdk, coalesce(@abis, '[]'), @soc, @ramBytes, coalesce(@facts, '{}'), @t, @t)
         ON CONFLICT(serial) DO UPDATE SET
           kind = excluded.kind,
           manufacturer = coalesce(@manufacturer, devices.manufacturer),
           model = coalesce(@model, devices.model),
           android_version = coalesce(@androidVersion, devices.android_version),
           sdk = coalesce(@sdk, devices.sdk),
           abis_json = coalesce(@abis, devices.abis_json),
           soc = coalesce(@soc, devices.soc),
           ram_bytes = coalesce(@ramBytes, devices.ram_bytes),
           facts_json = coalesce(@facts, devices.facts_json),
           last_seen = @t
         RETURNING id`,
      )
      .get({
        serial,
        kind,
        manufacturer: facts.manufacturer ?? null,
        model: facts.model ?? null,
        androidVersion: facts.androidVersion ?? null,
        sdk: facts.sdk ?? null,
        abis: facts.abis ? JSON.stringify(facts.abis) : null,
        soc: facts.soc ?? null,
        ramBytes: facts.ramBytes ?? null,
        facts: facts.facts ? JSON.stringify(facts.facts) : null,
        t,
      }) as { id: number };
    return row.id;
  }

  get(id: number): DeviceSummary | null {
    const r = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRecord | undefined;
    return r ? toSummary(r) : null;
  }

  bySerial(serial: string): DeviceSummary | null {
    const r = this.db.prepare('SELECT * FROM devices WHERE serial = ?').get(serial) as DeviceRecord | undefined;
    return r ? toSummary(r) : null;
  }

  list(): DeviceSummary[] {
    return (this.db.prepare('SELECT * FROM devices ORDER BY last_seen DESC').all() as DeviceRecord[]).map(toSummary);
  }
}
