// How client commands print answers: aligned tables and fields for people, JSON for scripts.

/** Rows under a header line, each column as wide as its widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd() + '\n';
  return line(headers) + rows.map(line).join('');
}

/** One record as `Name  value` lines, the values aligned. */
export function fields(entries: [name: string, value: unknown][]): string {
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, value]) => `${name.padEnd(width)}  ${text(value)}\n`).join('');
}

/** What a script reads: the value as indented JSON. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** An answer's own fields: the RequestId is the transport's, not the result's. */
export function result(answer: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(answer).filter(([name]) => name !== 'RequestId'));
}

export function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export const SECRET_NOTE = 'The AccessKeySecret is shown only now: keep it somewhere safe.\n';
