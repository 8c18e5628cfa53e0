// The one catalog of every error a client can see: code, HTTP status, message template, kept as
// data in catalog.json (the seed's table and ensnap's own codes) and read here.
// Nothing else in the codebase may invent a code, a status or a message for a client.
// `%s` in a code or message is filled from the error's arguments, in order.

import catalogData from './catalog.json' with { type: 'json' };

const SOURCES = ['seed', 'reference', 'ensnap'] as const;

export interface CatalogEntry {
  status: number;
  message: string;
  /** Where the code and message come from: the seed, the reference, or an ensnap choice. */
  source: (typeof SOURCES)[number];
  /** What produces the code: a real condition, or `fault rule only`. */
  condition: string;
}

/** The key of every entry of `catalog.json`, as a union of literal codes. */
export type ErrorKey = keyof typeof catalogData;

/** The catalog.condition of a code that no real condition produces. */
export const FAULT_RULE_ONLY = 'fault rule only';

// The JSON is data: its shape is checked once, at load, so a bad edit fails at start, not mid-request.
for (const [code, entry] of Object.entries(catalogData) as [string, Record<string, unknown>][]) {
  const { status, message, source, condition } = entry;
  if (
    typeof status !== 'number' ||
    typeof message !== 'string' ||
    !SOURCES.includes(source as CatalogEntry['source']) ||
    typeof condition !== 'string'
  ) {
    throw new Error(`src/errors/catalog.json: malformed entry ${code}`);
  }
}

export const ERROR_CATALOG = catalogData as Readonly<Record<ErrorKey, CatalogEntry>>;

/** A client-visible error. Only constructible from a catalog key. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly key: ErrorKey;
  /** On a RAM denial: the envelope's AccessDeniedDetail (which action, explicit or implicit deny). */
  accessDeniedDetail?: Record<string, string>;

  constructor(key: ErrorKey, ...args: string[]) {
    const entry: CatalogEntry = ERROR_CATALOG[key];
    // A templated code (InvalidParameter.%s) and its message take the same argument (the field name).
    super(fill(entry.message, args));
    this.name = 'ApiError';
    this.key = key;
    this.code = fill(key, args);
    this.status = entry.status;
  }
}

function fill(template: string, args: readonly string[]): string {
  let i = 0;
  return template.replace(/%s/g, () => args[i++] ?? '');
}

/** Shorthand for the seed's `InvalidParameter.<Field>` error. */
export function invalidParameter(field: string): ApiError {
  return new ApiError('InvalidParameter.%s', field);
}

export function missingParameter(field: string): ApiError {
  return new ApiError('MissingParameter', field);
}

/** Out of space, as the file system (ENOSPC, EDQUOT) or SQLite (SQLITE_FULL) says it. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/**
 * What the client is told of an error that is not an ApiError: StorageFull when the data
 * directory ran out of space (anywhere in the cause chain), else InternalError. Either way the
 * internals stay in the log.
 */
export function apiErrorForUnexpected(thrown: unknown): ApiError {
  for (let e: unknown = thrown, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (FULL_CODES.has(String((e as NodeJS.ErrnoException).code))) return new ApiError('StorageFull');
  }
  return new ApiError('InternalError');
}
