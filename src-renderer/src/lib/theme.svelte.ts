export type Theme = 'system' | 'light' | 'dark';

export const theme = $state<{ value: Theme }>({ value: (localStorage.getItem('pocketbench.theme') as Theme) || 'system' });

export function applyTheme(t: Theme): void {
  theme.value = t;
  localStorage.setItem('pocketbench.theme', t);
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

applyTheme(theme.value);
