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

export function v1Sign(stringToSign: string, secret: string): string {
  return createHmac('sha1', hmacKey(secret)).update(stringToSign, 'utf8').digest('base64');
}
