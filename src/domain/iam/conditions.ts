// The Condition element of the RAM policy language (reference 4.4): operators, condition keys and
// their values. A condition is compiled once, when its policy is, into a closure over the request
// context: values are parsed up front (CIDR blocks, dates, patterns), so evaluating it allocates
// nothing. The choices the reference leaves open are listed in docs/api.md ("RAM policies").
import { ApiError } from '../../errors/catalog.js';
import type { RequestContext } from './policy.js';
import { formatIpv4, inAnyBlock, parseCidr, parseIp, parseIpv4, type Ip } from './ip.js';
import { wildcardMatcher } from './wildcard.js';

/** A compiled condition (or statement part): true when the request satisfies it. */
export type RequestTest = (ctx: RequestContext) => boolean;

/** The catalog's error for a document that breaks a rule; `detail` says where and what. */
export function malformed(detail: string): ApiError {
  return new ApiError('MalformedPolicyDocument', detail);
}

/** A name from the document (an operator, a key), for a message: cut short so a message never echoes much. */
export function short(name: string): string {
  return name.length > 40 ? `${name.slice(0, 39)}…` : name;
}

/** A value from the document, for a message: as JSON, cut short. */
export function show(value: unknown): string {
  return short(JSON.stringify(value) ?? String(value));
}

// --- the caller's address ---

/**
 * The caller's address, parsed once per distinct `sourceIp` string: every statement and policy
 * checked for one request reads the same string, so the parse is shared. An IPv4-mapped address
 * (`::ffff:127.0.0.1`, how a dual-stack socket reports IPv4) is its IPv4 address. A zone
 * (`fe80::1%eth0`) is ignored. Unparsable: the key is absent. The address's text, for the String
 * operators, is the IPv4 address dotted (also when mapped), an IPv6 address as sent.
 */
let lastSource: string | undefined;
let lastIp: { ip: Ip; text: string } | undefined;
function requestIp(ctx: RequestContext): { ip: Ip; text: string } | undefined {
  const source = ctx.sourceIp;
  if (source !== lastSource) {
    lastSource = source;
    // The usual forms first, without the general parse's allocations.
    const dotted = source.startsWith('::ffff:') ? source.slice(7) : source;
    const v4 = parseIpv4(dotted);
    if (v4 !== undefined) {
      lastIp = { ip: { v4: true, words: [v4], mapped: false }, text: dotted };
    } else {
      const address = source.replace(/%.*$/s, '');
      const ip = parseIp(address);
      lastIp = ip && { ip, text: ip.v4 ? formatIpv4(ip.words[0]!) : address };
    }
  }
  return lastIp;
}

// --- dates ---

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** ISO 8601 date and time with a UTC offset (`2019-08-12T17:00:00+08:00`, or `Z`), as epoch ms. */
function parseIsoTime(text: string): number | undefined {
  const m = ISO_TIME.exec(text);
  if (m === null) return undefined;
  const n = (group: number) => Number(m[group] ?? 0);
  const [year, month, day, hour, minute, second] = [n(1), n(2), n(3), n(4), n(5), n(6)];
  const [offsetHours, offsetMinutes] = [n(9), n(10)];
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(local);
  // Catches 2026-02-30 (Date.UTC rolls it over) and years before 100 (it reads them as 19xx).
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  const offset = (offsetHours * 60 + offsetMinutes) * (m[8] === '-' ? -1 : 1);
  return local - offset * 60_000;
}

/** The request time as text, for the String operators: `2026-01-01T00:00:00Z`. */
function isoSeconds(time: Date): string | undefined {
  return Number.isNaN(time.getTime()) ? undefined : `${time.toISOString().slice(0, 19)}Z`;
}

// --- condition keys ---

/**
 * The keys ensnap's requests carry, by lower-case name (key names are matched case-insensitively).
 * Each has a type, which decides the operators that apply to it; the String operators apply to
 * every key, comparing its text. Any other `<service>:<Name>` key is accepted and never present.
 */
type KeySpec = { name: string; text: (ctx: RequestContext) => string | undefined } & (
  | { kind: 'IpAddress'; read: (ctx: RequestContext) => Ip | undefined }
  | { kind: 'Date'; read: (ctx: RequestContext) => number }
  | { kind: 'Bool'; read: (ctx: RequestContext) => boolean }
);

const KEYS = new Map<string, KeySpec>(
  (
    [
      {
        name: 'acs:SourceIp',
        kind: 'IpAddress',
        read: (ctx) => requestIp(ctx)?.ip,
        text: (ctx) => requestIp(ctx)?.text,
      },
      {
        name: 'acs:CurrentTime',
        kind: 'Date',
        read: (ctx) => ctx.currentTime.getTime(),
        text: (ctx) => isoSeconds(ctx.currentTime),
      },
      {
        name: 'acs:SecureTransport',
        kind: 'Bool',
        read: (ctx) => ctx.secureTransport,
        text: (ctx) => (ctx.secureTransport ? 'true' : 'false'),
      },
      // ensnap has no MFA: no request ever used it.
      { name: 'acs:MFAPresent', kind: 'Bool', read: () => false, text: () => 'false' },
    ] satisfies KeySpec[]
  ).map((key) => [key.name.toLowerCase(), key]),
);

const KIND_WORDS = { IpAddress: 'an IP address', Date: 'a date and time', Bool: 'a boolean' };

// --- operators ---

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'IpAddress';

/** The positive operators, by family (Maps: an operator named "constructor" must not be found). */
const FAMILY = new Map<string, Family>([
  ['StringEquals', 'String'],
  ['StringEqualsIgnoreCase', 'String'],
  ['StringLike', 'String'],
  ['NumericEquals', 'Numeric'],
  ['NumericLessThan', 'Numeric'],
  ['NumericLessThanEquals', 'Numeric'],
  ['NumericGreaterThan', 'Numeric'],
  ['NumericGreaterThanEquals', 'Numeric'],
  ['DateEquals', 'Date'],
  ['DateLessThan', 'Date'],
  ['DateLessThanEquals', 'Date'],
  ['DateGreaterThan', 'Date'],
  ['DateGreaterThanEquals', 'Date'],
  ['Bool', 'Bool'],
  ['IpAddress', 'IpAddress'],
]);

/** Each negated operator is the complement of a positive one: it holds when that one does not. */
const NEGATION_OF = new Map([
  ['StringNotEquals', 'StringEquals'],
  ['StringNotEqualsIgnoreCase', 'StringEqualsIgnoreCase'],
  ['StringNotLike', 'StringLike'],
  ['NumericNotEquals', 'NumericEquals'],
  ['DateNotEquals', 'DateEquals'],
  ['NotIpAddress', 'IpAddress'],
]);

const OPERATOR_NAMES = [...FAMILY.keys(), ...NEGATION_OF.keys()];

const ALWAYS: RequestTest = () => true;
const NEVER: RequestTest = () => false;

const KEY_FORMAT = /^[A-Za-z0-9-]+:\S+$/;

/**
 * Compiles one condition: `operator` applied to `key` with `values` (satisfied if any value
 * matches; a negated operator, if none does). Throws MalformedPolicyDocument, naming `where` (the
 * Condition element's path), for an unknown operator, a malformed key or value, or an operator
 * that does not apply to the key.
 */
export function compileCondition(
  operator: string,
  key: string,
  values: readonly string[],
  where: string,
): RequestTest {
  const positive = NEGATION_OF.get(operator) ?? operator;
  const family = FAMILY.get(positive);
  if (family === undefined) {
    throw malformed(
      `${where}: unknown condition operator ${show(operator)}${caseHint(operator, OPERATOR_NAMES)}`,
    );
  }
  if (!KEY_FORMAT.test(key)) {
    throw malformed(
      `${where}.${short(operator)}: ${show(key)} is not a condition key (<service>:<Name>, such as "acs:SourceIp")`,
    );
  }
  const spec = KEYS.get(key.toLowerCase());
  return compileTest(
    positive,
    positive !== operator,
    family,
    spec,
    values,
    `${where}.${operator}.${short(key)}`,
  );
}

/** The test of a positive `operator`, or of its complement if `negated`, on one key. */
function compileTest(
  operator: string,
  negated: boolean,
  family: Family,
  key: KeySpec | undefined,
  values: readonly string[],
  where: string,
): RequestTest {
  const parse = <T>(read: (v: string) => T | undefined, what: string): T[] =>
    values.map((v) => {
      const parsed = read(v);
      if (parsed === undefined) throw malformed(`${where}: ${show(v)} is not ${what}`);
      return parsed;
    });
  const mismatch = () =>
    malformed(`${where}: ${operator} does not apply to ${key!.name}, which is ${KIND_WORDS[key!.kind]}`);
  // A key the request does not carry satisfies no positive operator, hence every negated one.
  const absent = negated ? ALWAYS : NEVER;

  switch (family) {
    case 'String': {
      if (key === undefined) return absent;
      const text = key.text;
      const lower = values.map((v) => v.toLowerCase());
      const matches: (t: string) => boolean =
        operator === 'StringLike'
          ? wildcardMatcher(values)
          : operator === 'StringEquals'
            ? (t) => values.includes(t)
            : (t) => lower.includes(t.toLowerCase());
      return (ctx) => {
        const t = text(ctx);
        return t === undefined ? negated : matches(t) !== negated;
      };
    }
    case 'Numeric':
      parse((v) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined), 'a decimal number');
      // No key ensnap's requests carry is a number, so a Numeric condition only ever meets absent keys.
      if (key !== undefined) throw mismatch();
      return absent;
    case 'Date': {
      const times = parse(
        parseIsoTime,
        'an ISO 8601 date and time with its offset (2019-08-12T17:00:00+08:00)',
      );
      if (key === undefined) return absent;
      if (key.kind !== 'Date') throw mismatch();
      const read = key.read;
      if (operator === 'DateEquals') return (ctx) => times.includes(read(ctx)) !== negated;
      // Any value will do, so "before one of them" is "before the latest", and so on.
      const latest = Math.max(...times);
      const earliest = Math.min(...times);
      if (operator === 'DateLessThan') return (ctx) => read(ctx) < latest;
      if (operator === 'DateLessThanEquals') return (ctx) => read(ctx) <= latest;
      if (operator === 'DateGreaterThan') return (ctx) => read(ctx) > earliest;
      return (ctx) => read(ctx) >= earliest;
    }
    case 'Bool': {
      const wanted = parse(
        (v) => (v === 'true' ? true : v === 'false' ? false : undefined),
        '"true" or "false"',
      );
      if (key === undefined) return absent;
      if (key.kind !== 'Bool') throw mismatch();
      const read = key.read;
      const ifTrue = wanted.includes(true);
      const ifFalse = wanted.includes(false);
      return (ctx) => (read(ctx) ? ifTrue : ifFalse);
    }
    case 'IpAddress': {
      const blocks = parse(parseCidr, 'an IP address or CIDR block');
      if (key === undefined) return absent;
      if (key.kind !== 'IpAddress') throw mismatch();
      const read = key.read;
      return (ctx) => {
        const ip = read(ctx);
        return ip === undefined ? negated : inAnyBlock(blocks, ip) !== negated;
      };
    }
  }
}

/** " (names are case-sensitive: Effect)" when `name` is a known name in another letter case. */
export function caseHint(name: string, known: readonly string[]): string {
  const same = known.find((k) => k.toLowerCase() === name.toLowerCase());
  return same === undefined ? '' : ` (names are case-sensitive: ${same})`;
}
