/**
 * Every backend capability must be reachable from the UI: each contract method needs at least one
 * caller in the renderer (`api.call('method.name', …)`), and each event at least one listener.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventNames, methodNames } from '../src-shared/contract';

const root = path.resolve(import.meta.dirname, '../src-renderer/src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(svelte|ts)$/.test(e.name) ? [fs.readFileSync(p, 'utf8')] : [];
  });
}

describe('contract coverage', () => {
  const code = sources(root).join('\n');

  it('every contract method has a caller in the UI', () => {
    const uncalled = methodNames.filter((m) => !new RegExp(`api\\.call\\(\\s*['"\`]${m.replace(/\./g, '\\.')}['"\`]`).test(code));
    expect(uncalled, `methods with no UI caller: ${uncalled.join(', ')}`).toEqual([]);
  });

  it('every contract event has a listener in the UI', () => {
    const unheard = eventNames.filter((e) => !new RegExp(`api\\.on\\(\\s*['"\`]${e.replace(/\./g, '\\.')}['"\`]`).test(code));
    expect(unheard, `events nobody listens to: ${unheard.join(', ')}`).toEqual([]);
  });
});
