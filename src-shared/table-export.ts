/** Tables to CSV (RFC 4180 quoting) or JSON, for "export any table". */
export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
}

function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T>(rows: T[], columns: Column<T>[]): string {
  return [columns.map((c) => csvCell(c.header)).join(','), ...rows.map((r) => columns.map((c) => csvCell(c.value(r))).join(','))].join('\r\n') + '\r\n';
}

export function toJson<T>(rows: T[], columns: Column<T>[]): string {
  return JSON.stringify(
    rows.map((r) => Object.fromEntries(columns.map((c) => [c.header, c.value(r) ?? null]))),
    null,
    2,
  );
}
