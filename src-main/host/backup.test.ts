import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type HostHarness, hostHarness } from '../../test/helpers/host-harness';

let h: HostHarness;
afterEach(() => h?.close());

describe('store.backup', () => {
  it('writes a new file and never overwrites an existing one (not even the history itself)', async () => {
    h = hostHarness('pb-backup-');
    const dest = path.join(h.dir, 'copy.sqlite');
    expect(await h.call('store.backup', { path: dest })).toMatchObject({ ok: true });
    const size = fs.statSync(dest).size;
    const other = path.join(h.dir, 'notes.txt');
    fs.writeFileSync(other, 'keep me');
    for (const target of [dest, other, h.host.paths.dbPath]) {
      const r = (await h.call('store.backup', { path: target })) as { ok: boolean; error?: { code: string; message: string } };
      expect(r.ok).toBe(false);
      expect(r.error).toMatchObject({ code: 'EXISTS', message: expect.stringMatching(/already exists; choose a new file name/) });
    }
    expect(fs.readFileSync(other, 'utf8')).toBe('keep me');
    expect(fs.statSync(dest).size).toBe(size);
  });
});
