// Signature V1 (HMAC-SHA1), as pop-core, tea-rpc and openapi-client's `v2` mode compute it:
// StringToSign = METHOD & encode("/") & encode(canonical query of query ∪ body without Signature);
// key = secret + "&"; base64.
import { createHmac } from 'node:crypto';
import { canonicalQuery, percentEncode } from './percent-encoding.js';

export function v1StringToSign(method: string, params: ReadonlyMap<string, string>): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalQuery(params, 'Signature'))}`;
}

export function v1Sign(stringToSign: string, secret: string): string {
  return createHmac('sha1', secret + '&')
    .update(stringToSign, 'utf8')
    .digest('base64');
}
