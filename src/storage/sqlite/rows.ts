// Records and rows have the same fields, camelCase in TypeScript and snake_case in SQL. Apart
// from the store so that every module of it can use them (the store imports its RAM part).
export type Row = Record<string, unknown>;

const toSnake = new Map<string, string>();
const toCamel = new Map<string, string>();

/** A record as named statement parameters: snake_case names, booleans as 0/1, `omit` left out. */
export function params(record: object, omit: readonly string[] = []): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(record)) {
    if (omit.includes(key)) continue;
    let name = toSnake.get(key);
    if (name === undefined) {
      name = key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
      toSnake.set(key, name);
    }
    out[name] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return out;
}

/** A row as a record with camelCase names (the caller converts 0/1 back to booleans). */
export function fromRow<T>(row: Row): T {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    let name = toCamel.get(column);
    if (name === undefined) {
      name = column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      toCamel.set(column, name);
    }
    out[name] = value;
  }
  return out as T;
}
