// Who sent the request, and may we believe it: the protocol envelope of both signature versions,
// the access key, the 15-minute timestamp window, the signature (constant-time) and the nonce.
// Checks run in the reference's order: missing parameters, version and action (by the caller of
// readEnvelope), signature method, access key, timestamp, signature, nonce; the nonce comes after
// the signature so that nobody can burn another caller's nonces.
import { timingSafeEqual } from 'node:crypto';
import type { Caller } from '../domain/caller.js';
import type { AccessKey } from '../domain/model.js';
import { ApiError, missingParameter } from '../errors/catalog.js';
import { header, type DecodedRequest } from './decode.js';
import type { NonceCache } from './nonce-cache.js';
import { v1Sign, v1StringToSign, v1StringToSignFromQuery } from './signature-v1.js';
import {
  hashHex,
  isSupportedV3Algorithm,
  parseAuthorization,
  v3Sign,
  v3StringToSign,
  type ParsedAuthorization,
} from './signature-v3.js';

export interface Envelope {
  scheme: 'v1' | 'v3';
  action: string;
  version: string;
  accessKeyId: string;
  nonce: string;
  timestamp: string;
  authorization?: ParsedAuthorization;
}

export interface AccessKeyLookup {
  find(accessKeyId: string): Promise<AccessKey | undefined>;
}

const V1_REQUIRED = [
  'Action',
  'Version',
  'AccessKeyId',
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'Timestamp',
] as const;

/** The protocol fields of a request, or MissingParameter / IncompleteSignature. */
export function readEnvelope(req: DecodedRequest): Envelope {
  const authorization = header(req.http, 'authorization');
  if (authorization !== undefined && authorization.startsWith('ACS3-')) {
    const parsed = parseAuthorization(authorization);
    if (!parsed) throw new ApiError('IncompleteSignature');
    const need = (name: string): string => {
      const v = header(req.http, name);
      if (v === undefined || v === '') throw missingParameter(name);
      return v;
    };
    return {
      scheme: 'v3',
      action: need('x-acs-action'),
      version: need('x-acs-version'),
      accessKeyId: parsed.accessKeyId,
      nonce: need('x-acs-signature-nonce'),
      timestamp: need('x-acs-date'),
      authorization: parsed,
    };
  }
  for (const name of V1_REQUIRED) {
    const v = req.params.get(name);
    if (v === undefined || v === '') throw missingParameter(name);
  }
  const p = (name: string) => req.params.get(name) as string;
  return {
    scheme: 'v1',
    action: p('Action'),
    version: p('Version'),
    accessKeyId: p('AccessKeyId'),
    nonce: p('SignatureNonce'),
    timestamp: p('Timestamp'),
  };
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** `yyyy-MM-ddTHH:mm:ssZ` (UTC, no fractional seconds) to epoch ms, or NaN. */
export function parseTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-31 over to March: refuse anything that does not round-trip.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return NaN;
  return ms;
}

export class Authenticator {
  constructor(
    private readonly keys: AccessKeyLookup,
    private readonly nonces: NonceCache,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(req: DecodedRequest, env: Envelope): Promise<Caller> {
    if (env.scheme === 'v1') {
      if (req.params.get('SignatureMethod') !== 'HMAC-SHA1' || req.params.get('SignatureVersion') !== '1.0') {
        throw new ApiError('InvalidSignatureMethod');
      }
    } else if (!isSupportedV3Algorithm((env.authorization as ParsedAuthorization).algorithm)) {
      throw new ApiError('InvalidSignatureMethod');
    }
    if (req.params.has('SecurityToken') || header(req.http, 'x-acs-security-token') !== undefined) {
      throw new ApiError('InvalidSecurityToken.Malformed');
    }

    const key = await this.keys.find(env.accessKeyId);
    if (!key) throw new ApiError('InvalidAccessKeyId.NotFound');
    if (key.status !== 'Active') throw new ApiError('InvalidAccessKeyId.Inactive');

    const ts = parseTimestamp(env.timestamp);
    if (Number.isNaN(ts)) throw new ApiError('InvalidTimeStamp.Format');
    const now = this.now();
    if (Math.abs(now - ts) > this.windowMs || ts < this.nonces.floor)
      throw new ApiError('InvalidTimeStamp.Expired');

    if (env.scheme === 'v1') this.verifyV1(req, key.secret);
    else this.verifyV3(req, env.authorization as ParsedAuthorization, key.secret);

    if (!this.nonces.remember(key.accessKeyId, env.nonce, ts, now)) throw new ApiError('SignatureNonceUsed');
    return { accountId: key.accountId, accessKeyId: key.accessKeyId, userName: key.userName };
  }

  private verifyV1(req: DecodedRequest, secret: string): void {
    // The query holds every signed parameter when there was no form body (params = query).
    const q = req.http.url.indexOf('?');
    const stringToSign =
      (q >= 0 && req.params.size === req.query.size
        ? v1StringToSignFromQuery(req.http.method, req.http.url.slice(q + 1))
        : undefined) ?? v1StringToSign(req.http.method, req.params);
    const expected = v1Sign(stringToSign, secret);
    // A client that left `+` unescaped in the query has it decoded to a space.
    const given = (req.params.get('Signature') as string).replace(/ /g, '+');
    if (!constantTimeEqual(given, expected)) throw new ApiError('SignatureDoesNotMatch', stringToSign);
  }

  private verifyV3(req: DecodedRequest, auth: ParsedAuthorization, secret: string): void {
    const algorithm = auth.algorithm as Parameters<typeof hashHex>[0];
    const signed = new Set(auth.signedHeaders.map((h) => h.toLowerCase()));
    // host and every x-acs-* header sent must be covered by the signature.
    const mustSign = Object.keys(req.http.headers).filter((h) => h === 'host' || h.startsWith('x-acs-'));
    if (!mustSign.every((h) => signed.has(h))) throw new ApiError('IncompleteSignature');
    // The payload hash is computed from the bytes received, so a body that does not match the
    // client's x-acs-content-sha256 cannot produce a matching signature.
    const { stringToSign } = v3StringToSign({
      algorithm,
      method: req.http.method,
      path: req.path,
      query: req.query,
      headers: (name) => header(req.http, name),
      signedHeaders: [...signed],
      payloadHash: hashHex(algorithm, req.http.body),
    });
    if (!constantTimeEqual(auth.signature, v3Sign(algorithm, stringToSign, secret))) {
      throw new ApiError('SignatureDoesNotMatch', stringToSign);
    }
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
