// Signature V1 (HMAC-SHA1), as pop-core, tea-rpc and openapi-client's `v2` mode compute it:
// StringToSign = METHOD & encode("/") & encode(canonical query of query ∪ body without Signature);
// key = secret + "&"; base64.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { canonicalQuery, percentEncode } from './percent-encoding.js';

// The HMAC key of each secret, made once instead of on every request. Secrets are few (one per
// access key); the map is emptied should it ever grow past KEY_CACHE_MAX.
const KEY_CACHE_MAX = 1024;
const hmacKeys = new Map<string, KeyObject>();

function hmacKey(secret: string): KeyObject {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    if (hmacKeys.size >= KEY_CACHE_MAX) hmacKeys.clear();
    key = createSecretKey(Buffer.from(secret + '&', 'utf8'));
    hmacKeys.set(secret, key);
  }
  return key;
}

export function v1StringToSign(method: string, params: ReadonlyMap<string, string>): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalQuery(params, 'Signature'))}`;
}

/**
 * The same string to sign, from the raw query string, when the client sent it in canonical form
 * already (pop-core and the other SDKs send the parameters sorted and percent-encoded as they sign
 * them, Signature added last): every name of unreserved characters only, in strictly ascending
 * order, every `name=value` with the value in canonical encoding (unreserved characters as they
 * are, everything else as %XX in upper case). Then the canonical query is the raw query without
 * its Signature pair, and nothing needs re-encoding or sorting. Anything else (`+`, lower-case
 * hex, raw `!'()*`, an escaped letter, a name out of order, an empty pair, a pair without `=`)
 * gives undefined: the caller builds the string from the decoded parameters instead. The caller
 * passes the query only when it holds every signed parameter (no form body) and has been decoded
 * successfully (so its percent-escapes are valid UTF-8).
 */
export function v1StringToSignFromQuery(method: string, rawQuery: string): string | undefined {
  let canonical = '';
  let previous = '';
  let start = 0;
  const end = rawQuery.length;
  while (start < end) {
    let amp = rawQuery.indexOf('&', start);
    if (amp < 0) amp = end;
    const eq = rawQuery.indexOf('=', start);
    if (eq <= start || eq > amp) return undefined;
    const name = rawQuery.slice(start, eq);
    if (name !== 'Signature') {
      for (let i = start; i < eq; i++) if (!UNRESERVED[rawQuery.charCodeAt(i)]) return undefined;
      if (name <= previous) return undefined;
      previous = name;
      if (!isCanonicalValue(rawQuery, eq + 1, amp)) return undefined;
      canonical =
        canonical === '' ? rawQuery.slice(start, amp) : canonical + '&' + rawQuery.slice(start, amp);
    }
    start = amp + 1;
  }
  if (start !== end + 1 && end !== 0) return undefined; // a trailing `&`
  return `${method.toUpperCase()}&%2F&${encodeURIComponent(canonical)}`;
}

/** RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), by code unit. */
const UNRESERVED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  UNRESERVED[c] = /[A-Za-z0-9\-._~]/.test(ch) ? 1 : 0;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F (lower case is not canonical)
  return -1;
}

function isCanonicalValue(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && UNRESERVED[c]) continue;
    if (c !== 37 /* % */ || i + 2 >= to) return false;
    const hi = hexDigit(text.charCodeAt(i + 1));
    const lo = hexDigit(text.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return false;
    const byte = hi * 16 + lo;
    // An escaped unreserved character would be sent raw in canonical form.
    if (byte < 128 && UNRESERVED[byte]) return false;
    i += 2;
  }
  return true;
}

export function v1Sign(stringToSign: string, secret: string): string {
  return createHmac('sha1', hmacKey(secret)).update(stringToSign, 'utf8').digest('base64');
}
