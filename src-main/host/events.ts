import type { EventName, Events } from '../../src-shared/contract';
import type { PayloadOf } from '../../src-shared/rpc';

type Listener = (event: EventName, payload: unknown) => void;

/** Typed event bus: services emit, transports forward to every connected UI. */
export class EventBus {
  private readonly listeners = new Set<Listener>();

  emit<E extends EventName>(event: E, payload: PayloadOf<Events[E]>): void {
    for (const l of this.listeners) {
      try {
        l(event, payload);
      } catch (err) {
        console.error(`event listener for ${event} failed`, err);
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
