/** Messages for the user: what happened, and what to do next. */
export interface Notice {
  id: number;
  kind: 'error' | 'info' | 'success';
  text: string;
}

export const notices = $state<Notice[]>([]);
let next = 1;

export function notify(kind: Notice['kind'], text: string, ms = kind === 'error' ? 12000 : 5000): void {
  const id = next++;
  notices.push({ id, kind, text });
  setTimeout(() => dismiss(id), ms);
}

export function dismiss(id: number): void {
  const i = notices.findIndex((n) => n.id === id);
  if (i >= 0) notices.splice(i, 1);
}

/** Run an action; on failure show its message (backend messages already say what to do). */
export async function attempt<T>(fn: () => Promise<T>, success?: string): Promise<T | undefined> {
  try {
    const r = await fn();
    if (success) notify('success', success);
    return r;
  } catch (err) {
    notify('error', (err as Error).message);
    return undefined;
  }
}
