// Signature V3 (ACS3-HMAC-SHA256 and ACS3-HMAC-SM3), as openapi-client's default `callApi` computes
// it. The signed header set is the client's own (SignedHeaders), never assumed.
import { createHash, createHmac, getHashes } from 'node:crypto';
import { canonicalQuery } from './percent-encoding.js';

export const V3_ALGORITHMS = {
  'ACS3-HMAC-SHA256': 'sha256',
  'ACS3-HMAC-SM3': 'sm3',
} as const;
export type V3Algorithm = keyof typeof V3_ALGORITHMS;

const available = new Set(getHashes());
export function isSupportedV3Algorithm(name: string): name is V3Algorithm {
  return Object.hasOwn(V3_ALGORITHMS, name) && available.has(V3_ALGORITHMS[name as V3Algorithm]);
}

export interface ParsedAuthorization {
  algorithm: string;
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex` → parts, or null if malformed. */
export function parseAuthorization(header: string): ParsedAuthorization | null {
  const space = header.indexOf(' ');
  if (space <= 0) return null;
  const algorithm = header.slice(0, space);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) return null;
  return { algorithm, accessKeyId, signedHeaders: signedHeaders.split(';'), signature };
}

export function hashHex(algorithm: V3Algorithm, data: Buffer | string): string {
  return createHash(V3_ALGORITHMS[algorithm]).update(data).digest('hex');
}

export interface V3Input {
  algorithm: V3Algorithm;
  method: string;
  path: string;
  query: ReadonlyMap<string, string>;
  /** Header values by lower-case name, for the names in signedHeaders. */
  headers: (name: string) => string | undefined;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function v3StringToSign(input: V3Input): { canonicalRequest: string; stringToSign: string } {
  const names = [...input.signedHeaders].map((n) => n.toLowerCase()).sort();
  let canonicalHeaders = '';
  for (const name of names) canonicalHeaders += `${name}:${(input.headers(name) ?? '').trim()}\n`;
  const canonicalRequest = [
    input.method.toUpperCase(),
    input.path,
    canonicalQuery(input.query),
    canonicalHeaders,
    names.join(';'),
    input.payloadHash,
  ].join('\n');
  return {
    canonicalRequest,
    stringToSign: `${input.algorithm}\n${hashHex(input.algorithm, canonicalRequest)}`,
  };
}

export function v3Sign(algorithm: V3Algorithm, stringToSign: string, secret: string): string {
  return createHmac(V3_ALGORITHMS[algorithm], secret).update(stringToSign, 'utf8').digest('hex');
}

export interface V3Request {
  algorithm: V3Algorithm;
  method: string;
  path: string;
  query: ReadonlyMap<string, string>;
  /** Headers to send and sign, by lower-case name: host, x-acs-*, content-type. */
  headers: Record<string, string>;
  payloadHash: string;
  accessKeyId: string;
  secret: string;
}

/**
 * Signs a request as the SDK does: every header given is signed, and the Authorization header to
 * send with them is returned.
 */
export function v3Authorization(request: V3Request): string {
  const signedHeaders = Object.keys(request.headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = new Map(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const { stringToSign } = v3StringToSign({
    algorithm: request.algorithm,
    method: request.method,
    path: request.path,
    query: request.query,
    headers: (name) => lower.get(name),
    signedHeaders,
    payloadHash: request.payloadHash,
  });
  const signature = v3Sign(request.algorithm, stringToSign, request.secret);
  return `${request.algorithm} Credential=${request.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
}
