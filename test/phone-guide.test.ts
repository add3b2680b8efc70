/** The phone guide points at the step the live state says the user is at. */
import { describe, expect, it } from 'vitest';
import { guideState, guideSteps } from '../src-renderer/src/lib/phone-guide';

describe('phone guide', () => {
  it('covers developer options, USB debugging, authorization, cables and drivers, and wireless pairing', () => {
    const text = guideSteps.map((s) => `${s.title} ${s.body} ${s.command ?? ''}`).join(' ');
    for (const w of ['Build number', 'USB debugging', 'Always allow', 'driver', 'data', 'adb pair', 'Android 11']) expect(text).toContain(w);
  });
  it('follows the live state', () => {
    expect(guideState({ state: 'missing', message: 'adb not found' }, []).current).toBe('adb');
    expect(guideState({ state: 'not-running' }, []).current).toBe('adb');
    expect(guideState({ state: 'ready' }, [])).toMatchObject({ current: 'developer', message: expect.stringContaining('sees no phone') });
    expect(guideState({ state: 'ready' }, [{ state: 'unauthorized', label: 'Pixel 7' }])).toMatchObject({ current: 'authorize', message: expect.stringContaining('Pixel 7') });
    expect(guideState({ state: 'ready' }, [{ state: 'offline', label: 'Pixel 7' }]).current).toBe('cable');
    expect(guideState({ state: 'ready' }, [{ state: 'offline', label: 'A' }, { state: 'device', label: 'B' }])).toEqual({ current: null, message: 'B is ready.' });
  });
});
