import type { AppStatus } from '../../../src-shared/types';
import { api } from './api.svelte';

export const status = $state<{ value: AppStatus | null; error: string }>({ value: null, error: '' });

export async function refreshStatus(): Promise<void> {
  try {
    status.value = await api.call('app.status');
    status.error = '';
  } catch (err) {
    status.error = (err as Error).message;
  }
}

api.on('app.status', (s) => (status.value = s));
