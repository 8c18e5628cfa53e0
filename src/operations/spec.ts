// The declarative operation spec: each operation declares its parameters once; the declaration
// validates the request, types the handler's input and feeds the coverage table in the docs.
import { invalidParameter, missingParameter } from '../errors/catalog.js';
import type { BillingService } from '../domain/billing.js';
import type { AccountService } from '../domain/accounts.js';
import type { Caller } from '../domain/caller.js';
import type { DiskDataService } from '../domain/disk-data.js';
import type { DiskService } from '../domain/disks.js';
import type { FaultService } from '../domain/faults.js';
import type { IamService } from '../domain/iam/iam-service.js';
import type { IdProfile } from '../domain/ids.js';
import type { RegionCatalog } from '../domain/region-catalog.js';
import type { SnapshotService } from '../domain/snapshots.js';

/** One declared parameter: how to read it from the decoded request, and what it is for the docs. */
export interface Param<T, R extends boolean = boolean> {
  readonly required: R;
  /** Type as the reference names it (string, integer, boolean, JSON array string, …). */
  readonly type: string;
  read(name: string, params: ReadonlyMap<string, string>): T | undefined;
}

type ParamSpecs = Record<string, Param<unknown>>;
type ValueOf<P> = P extends Param<infer T> ? T : never;
export type Input<S extends ParamSpecs> = {
  [K in keyof S]: S[K] extends Param<unknown, true> ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export interface OperationContext {
  caller: Caller;
  requestId: string;
  profile: IdProfile;
  regions: RegionCatalog;
  disks: DiskService;
  snapshots: SnapshotService;
  diskData: DiskDataService;
  accounts: AccountService;
  billing: BillingService;
  iam: IamService;
  faults: FaultService;
}

export type Coverage = { status: 'complete' | 'partial' | 'not yet'; missing?: string };

export interface Operation<S extends ParamSpecs = ParamSpecs> {
  version: string;
  action: string;
  /** The RAM action checked for the call, e.g. ens:CreateSnapshot. */
  ramAction: string;
  accessLevel: 'read' | 'list' | 'create' | 'update' | 'delete';
  /**
   * The one resource the call acts on, relative to the account (`disk/<DiskId>`), read from the
   * raw parameters for RAM's Resource matching; absent for calls on no single resource (`*`).
   */
  resource?: (params: ReadonlyMap<string, string>) => string | undefined;
  params: S;
  coverage: Coverage;
  /**
   * The operation takes raw bytes as its body (`Content-Type: application/octet-stream`, at most
   * `maxBytes`, its SHA-256 checked); the dispatcher hands them to `handle`.
   */
  body?: { maxBytes: number };
  handle(
    ctx: OperationContext,
    input: Input<S>,
    body: Buffer,
  ): Promise<Record<string, unknown> | BinaryReply>;
}

/** An answer of raw bytes (`application/octet-stream`) instead of a JSON/XML document. */
export class BinaryReply {
  constructor(
    readonly data: Buffer,
    /** Called once the bytes are sent (not if the connection fails first): `data` may be reused. */
    readonly sent?: () => void,
  ) {}
}

export function defineOperation<S extends ParamSpecs>(op: Operation<S>): Operation<S> {
  return op;
}

/** Reads every declared parameter (MissingParameter / InvalidParameter.<Name> on failure). */
export function readInput<S extends ParamSpecs>(specs: S, params: ReadonlyMap<string, string>): Input<S> {
  const input: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = spec.read(name, params);
    if (value === undefined && spec.required) throw missingParameter(name);
    input[name] = value;
  }
  return input as Input<S>;
}

// --- parameter kinds ---

/**
 * A scalar: absent and empty are the same (SDKs send `Name=` for an empty string). `parse` checks
 * the value and throws the error the API answers for it.
 */
export function scalar<T>(type: string, parse: (raw: string, name: string) => T): Param<T, false> {
  return {
    required: false,
    type,
    read(name, params) {
      const raw = params.get(name);
      return raw === undefined || raw === '' ? undefined : parse(raw, name);
    },
  };
}

export function required<T>(param: Param<T, boolean>): Param<T, true> {
  return { ...param, required: true };
}

export function string(check?: (value: string) => boolean): Param<string, false> {
  return scalar('string', (raw, name) => {
    if (check && !check(raw)) throw invalidParameter(name);
    return raw;
  });
}

export function oneOf<const T extends string>(values: readonly T[]): Param<T, false> {
  return scalar(`string (${values.join(' | ')})`, (raw, name) => {
    if (!(values as readonly string[]).includes(raw)) throw invalidParameter(name);
    return raw as T;
  });
}

export function integer(min: number, max: number): Param<number, false> {
  return scalar(`integer (${min}–${max})`, (raw, name) => {
    if (!/^[0-9]{1,15}$/.test(raw)) throw invalidParameter(name);
    const n = Number(raw);
    if (n < min || n > max) throw invalidParameter(name);
    return n;
  });
}

export function boolean(): Param<boolean, false> {
  return scalar('boolean', (raw, name) => {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw invalidParameter(name);
  });
}

/**
 * A list of ids in one parameter: a JSON array string, and where `plain` allows it, a single id
 * or a comma-separated list.
 */
export function idList(maxItems: number, plain: boolean): Param<string[], false> {
  return scalar(plain ? 'string (id, JSON array or comma list)' : 'JSON array string', (raw, name) => {
    let ids: unknown;
    if (raw.startsWith('[')) {
      try {
        ids = JSON.parse(raw);
      } catch {
        throw invalidParameter(name);
      }
    } else if (plain) {
      ids = raw.split(',').map((s) => s.trim());
    } else {
      throw invalidParameter(name);
    }
    if (!Array.isArray(ids) || ids.length > maxItems) throw invalidParameter(name);
    if (!ids.every((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 128)) {
      throw invalidParameter(name);
    }
    return ids;
  });
}

/** A JSON object string whose keys and values are all strings. */
export function jsonObject(): Param<Record<string, string>, false> {
  return scalar('JSON object string', (raw, name) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalidParameter(name);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParameter(name);
    const entries = Object.entries(value);
    if (!entries.every(([, v]) => typeof v === 'string')) throw invalidParameter(name);
    // fromEntries keeps every key as the object's own, `__proto__` included (an assignment would
    // set the prototype instead, and the key would vanish unchecked).
    return Object.fromEntries(entries) as Record<string, string>;
  });
}

/** Repeated `Name.N.Key` / `Name.N.Value` pairs, N = 1..max, with a check for each side. */
export function keyValueList(
  max: number,
  checkKey: (key: string) => boolean,
  checkValue: (value: string) => boolean,
): Param<{ key: string; value: string }[], false> {
  return {
    required: false,
    type: `repeated ${'{Key, Value}'} (N = 1..${max})`,
    read(name, params) {
      const prefix = name + '.';
      const byIndex = new Map<number, { key?: string; value?: string }>();
      for (const [param, raw] of params) {
        if (!param.startsWith(prefix)) continue;
        const m = /^([1-9][0-9]*)\.(Key|Value)$/.exec(param.slice(prefix.length));
        if (!m) throw invalidParameter(param);
        const n = Number(m[1]);
        if (n > max) throw invalidParameter(param);
        const entry = byIndex.get(n) ?? {};
        if (m[2] === 'Key') entry.key = raw;
        else entry.value = raw;
        byIndex.set(n, entry);
      }
      if (byIndex.size === 0) return undefined;
      const out: { key: string; value: string }[] = [];
      for (const n of [...byIndex.keys()].sort((a, b) => a - b)) {
        const entry = byIndex.get(n) as { key?: string; value?: string };
        const key = entry.key ?? '';
        const value = entry.value ?? '';
        if (!checkKey(key)) throw invalidParameter(`${name}.${n}.Key`);
        if (!checkValue(value)) throw invalidParameter(`${name}.${n}.Value`);
        if (out.some((t) => t.key === key)) throw invalidParameter(`${name}.${n}.Key`);
        out.push({ key, value });
      }
      return out;
    },
  };
}

/** Accepted for compatibility and not used (the reference marks it undocumented). */
export function ignored(): Param<string, false> {
  return scalar('string (accepted, ignored)', (raw) => raw);
}

export function pageNumber(): Param<number, false> {
  return integer(1, 1_000_000);
}

/** An operation's `resource`: the disk or snapshot named by a parameter (`disk/d-…`). */
export function resourceNamedBy(kind: 'disk' | 'snapshot', param: string) {
  return (params: ReadonlyMap<string, string>): string | undefined => {
    const id = params.get(param);
    return id ? `${kind}/${id}` : undefined;
  };
}
