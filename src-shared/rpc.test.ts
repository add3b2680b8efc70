import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from './errors';
import { createClient, dispatch, type Envelope, event, type Handlers, method } from './rpc';

const methods = {
  'math.add': method<number>()(z.object({ a: z.number(), b: z.number().max(100, 'must be at most 100') }), 'adds'),
  'boom.app': method<never>()(z.object({}).optional(), 'throws an AppError'),
  'boom.disk': method<never>()(z.object({}).optional(), 'throws ENOSPC'),
};
const handlers: Handlers<typeof methods, null> = {
  'math.add': ({ a, b }) => a + b,
  'boom.app': () => {
    throw new AppError('NOT_FOUND', 'No such thing. Refresh the list.', { id: 3 });
  },
  'boom.disk': () => {
    throw Object.assign(new Error('write failed'), { code: 'ENOSPC' });
  },
};

describe('dispatch', () => {
  it('validates arguments and names the field and the limit', async () => {
    const env = await dispatch(methods, handlers, 'math.add', { a: 1, b: 500 }, null);
    expect(env.ok).toBe(false);
    if (!env.ok) {
      expect(env.error.code).toBe('INVALID_ARGS');
      expect(env.error.message).toContain('b: must be at most 100');
    }
  });

  it('refuses unknown methods, including prototype keys', async () => {
    for (const name of ['nope', 'constructor', '__proto__', 42]) {
      const env = await dispatch(methods, handlers, name, {}, null);
      expect(env).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    }
  });

  it('carries code, message and details across; never a stack', async () => {
    const env = await dispatch(methods, handlers, 'boom.app', undefined, null);
    expect(env).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'No such thing. Refresh the list.', details: { id: 3 } } });
    const disk = await dispatch(methods, handlers, 'boom.disk', undefined, null);
    expect(disk).toMatchObject({ ok: false, error: { code: 'DISK_FULL' } });
    expect(JSON.stringify(disk)).not.toContain('at ');
  });

  it('returns results in an ok envelope', async () => {
    expect(await dispatch(methods, handlers, 'math.add', { a: 2, b: 3 }, null)).toEqual({ ok: true, result: 5 });
  });
});

describe('createClient', () => {
  it('unwraps envelopes into results and AppErrors, and routes events', async () => {
    let emit: (e: string, p: unknown) => void = () => {};
    const client = createClient<typeof methods, { tick: ReturnType<typeof event<number>> }>({
      invoke: (m, a) => dispatch(methods, handlers, m, a, null) as Promise<Envelope>,
      subscribe: (l) => {
        emit = l;
        return () => {};
      },
    });
    expect(await client.call('math.add', { a: 4, b: 5 })).toBe(9);
    await expect(client.call('boom.app')).rejects.toMatchObject({ code: 'NOT_FOUND', details: { id: 3 } });
    const got: number[] = [];
    const off = client.on('tick', (n) => got.push(n));
    emit('tick', 1);
    emit('other', 2);
    off();
    emit('tick', 3);
    expect(got).toEqual([1]);
  });
});
