// Signed RPC requests exactly as pop-core (the provider's Node SDK core) builds a GET: the common
// parameters, sorted and percent-encoded, HMAC-SHA1 with `secret&` over `GET&%2F&encode(query)`,
// and `Signature` appended last. Written apart from src/ so the benchmark checks the service
// against an independent client, not against its own code.
import { createHmac, randomBytes } from 'node:crypto';

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
}

/** The headers pop-core sends with every request (besides Host and Connection). */
export function popCoreHeaders(action: string, version: string): Record<string, string> {
  return {
    'x-sdk-client': `Node.js(${process.version}), @alicloud/pop-core: 1.8.0`,
    'user-agent': `AlibabaCloud (${process.platform}; ${process.arch}) Node.js/${process.version} Core/1.8.0`,
    'x-acs-action': action,
    'x-acs-version': version,
  };
}

function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** `yyyy-MM-ddTHH:mm:ssZ`, as pop-core stamps requests. */
export function timestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/**
 * Request targets (`/?…&Signature=…`) for `count` calls of one action, each with its own
 * SignatureNonce; all share the timestamp of the moment they are signed.
 */
export function signRequests(
  credentials: Credentials,
  version: string,
  action: string,
  params: Record<string, string>,
  count: number,
): string[] {
  const ts = timestamp();
  const nonces = randomBytes(16 * count).toString('hex');
  const key = credentials.accessKeySecret + '&';
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const all: Record<string, string> = {
      Action: action,
      Format: 'JSON',
      Timestamp: ts,
      Version: version,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: nonces.slice(32 * i, 32 * i + 32),
      AccessKeyId: credentials.accessKeyId,
      ...params,
    };
    const canonical = Object.keys(all)
      .sort()
      .map((name) => encode(name) + '=' + encode(all[name] as string))
      .join('&');
    const signature = createHmac('sha1', key)
      .update(`GET&${encode('/')}&${encode(canonical)}`)
      .digest('base64');
    out[i] = `/?${canonical}&Signature=${encode(signature)}`;
  }
  return out;
}
