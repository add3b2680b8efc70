/**
 * Generic machinery for the one contract between UI and backend.
 *
 * The contract itself (./contract.ts) is a plain object: method name -> argument schema (zod) and
 * result type; event name -> payload type. Everything here is generic over that object, so adding
 * a method is one line in the contract and one handler in src-main/host: no channel string, no
 * preload entry, no client stub is written anywhere else.
 *
 * Pure TypeScript: no Node, no DOM.
 */
import type { z } from 'zod';
import { AppError, type ErrorInfo, toErrorInfo } from './errors';

/** A request the UI can make. `R` is the result type; it only exists at compile time. */
export interface MethodDef<A extends z.ZodType = z.ZodType, R = unknown> {
  readonly args: A;
  readonly summary: string;
  /** Phantom field carrying the result type. Never set. */
  readonly __result?: R;
}

/** An event the backend pushes to every connected UI. */
export interface EventDef<P = unknown> {
  readonly summary: string;
  readonly __payload?: P;
}

/** `method<Result>()(argsSchema, 'what it does')` — curried so the args type is inferred. */
export function method<R>() {
  return <A extends z.ZodType>(args: A, summary: string): MethodDef<A, R> => ({ args, summary });
}

export function event<P>(summary: string): EventDef<P> {
  return { summary };
}

export type MethodMap = Record<string, MethodDef>;
export type EventMap = Record<string, EventDef>;

export type ArgsIn<D> = D extends MethodDef<infer A, unknown> ? z.input<A> : never;
export type ArgsOut<D> = D extends MethodDef<infer A, unknown> ? z.output<A> : never;
export type ResultOf<D> = D extends MethodDef<z.ZodType, infer R> ? R : never;
export type PayloadOf<D> = D extends EventDef<infer P> ? P : never;

/** What crosses a transport for a call: always an envelope, so error codes survive IPC. */
export type Envelope<R = unknown> = { ok: true; result: R } | { ok: false; error: ErrorInfo };

export { IPC_CALL, IPC_EVENT } from './channels';

/** The minimal surface a transport offers the renderer (the preload exposes exactly this). */
export interface Transport {
  invoke(method: string, args: unknown): Promise<Envelope>;
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

/** Typed client over any transport. */
export interface Client<M extends MethodMap, E extends EventMap> {
  call<K extends keyof M & string>(
    method: K,
    ...args: undefined extends ArgsIn<M[K]> ? [args?: ArgsIn<M[K]>] : [args: ArgsIn<M[K]>]
  ): Promise<ResultOf<M[K]>>;
  on<K extends keyof E & string>(event: K, listener: (payload: PayloadOf<E[K]>) => void): () => void;
}

export function createClient<M extends MethodMap, E extends EventMap>(transport: Transport): Client<M, E> {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  transport.subscribe((name, payload) => {
    for (const l of listeners.get(name) ?? []) {
      try {
        l(payload);
      } catch (err) {
        console.error(`listener for ${name} failed`, err);
      }
    }
  });
  return {
    async call(method, ...rest) {
      const envelope = await transport.invoke(method, rest[0]);
      if (envelope.ok) return envelope.result as never;
      throw AppError.fromInfo(envelope.error);
    },
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener as (p: unknown) => void);
      return () => set.delete(listener as (p: unknown) => void);
    },
  };
}

/** Backend side: one handler per method, checked by the compiler to cover the whole map. */
export type Handlers<M extends MethodMap, Ctx> = {
  [K in keyof M]: (args: ArgsOut<M[K]>, ctx: Ctx) => Promise<ResultOf<M[K]>> | ResultOf<M[K]>;
};

/**
 * Validate and run one call. Used by every transport; never throws: failures become an error
 * envelope with a code and a message meant for people.
 */
export async function dispatch<M extends MethodMap, Ctx>(
  methods: M,
  handlers: Handlers<M, Ctx>,
  name: unknown,
  rawArgs: unknown,
  ctx: Ctx,
): Promise<Envelope> {
  try {
    if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(methods, name)) {
      throw new AppError('UNKNOWN_METHOD', `There is no method named ${JSON.stringify(name)}.`);
    }
    const def = methods[name];
    const parsed = def.args.safeParse(rawArgs);
    if (!parsed.success) throw AppError.fromZod(parsed.error, `Invalid arguments for ${name}`);
    const handler = handlers[name as keyof M];
    const result = await handler(parsed.data as ArgsOut<M[keyof M]>, ctx);
    return { ok: true, result: result === undefined ? null : result };
  } catch (err) {
    return { ok: false, error: toErrorInfo(err) };
  }
}

/** Shape of a message on the WebSocket transport. */
export type WireMessage =
  | { type: 'call'; id: number; method: string; args: unknown }
  | { type: 'reply'; id: number; envelope: Envelope }
  | { type: 'event'; event: string; payload: unknown };
