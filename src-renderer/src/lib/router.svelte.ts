/** Hash routing: `#/runs`, `#/runs/12`, `#/devices`… Works the same from file:// and http://. */
export interface Route {
  page: string;
  params: string[];
}

function parse(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0]?.startsWith('token=')) return { page: 'runs', params: [] };
  return { page: parts[0] || 'runs', params: parts.slice(1) };
}

export const route = $state<Route>(parse());

window.addEventListener('hashchange', () => Object.assign(route, parse()));

export function navigate(page: string, ...params: (string | number)[]): void {
  location.hash = '#/' + [page, ...params.map((p) => encodeURIComponent(String(p)))].join('/');
}
