/** The wizard's checkboxes show what the recipe will really do when a field is left out. */
import { describe, expect, it } from 'vitest';
import { stageFields } from '../src-renderer/src/lib/stage-fields';
import { stageSchema } from '../src-shared/recipe';

describe('wizard stage fields', () => {
  it('every checkbox default equals the recipe schema default', () => {
    const checked: string[] = [];
    for (const [kind, fields] of Object.entries(stageFields)) {
      const parsed = stageSchema.safeParse({ kind });
      if (!parsed.success) continue; // stages that need more than their kind are covered by their own tests
      for (const f of fields.filter((x) => x.kind === 'bool' && !x.key.includes('.'))) {
        expect(f.default, `${kind}.${f.key}`).toBe((parsed.data as Record<string, unknown>)[f.key]);
        checked.push(`${kind}.${f.key}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(5);
  });
});
