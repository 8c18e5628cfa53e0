// The provider's official Node SDK cores, unmodified, pointed at a running ensnap:
// pop-core (signature v1) and openapi-client (V3 by default; `v2` is its classic v1 mode).
import RPCClient from '@alicloud/pop-core';
import OpenApiModule, * as OpenApi from '@alicloud/openapi-client';
import OpenApiUtilModule from '@alicloud/openapi-util';
import * as TeaUtil from '@alicloud/tea-util';
import { randomBytes } from 'node:crypto';
import { ENSNAP_VERSION } from '../../src/operations/ensnap/version.js';
import { canonicalQuery, percentEncode } from '../../src/protocol/percent-encoding.js';
import { v1Sign, v1StringToSign } from '../../src/protocol/signature-v1.js';
import { hashHex, v3Sign, v3StringToSign, type V3Algorithm } from '../../src/protocol/signature-v3.js';

export interface Endpoint {
  endpoint: string;
  hostPort: string;
  accessKeyId: string;
  accessKeySecret: string;
}

export type Params = Record<string, string | number | boolean | undefined>;

/** The raw error an SDK threw: code, message, data (the body) and HTTP status where it keeps it. */
export interface SdkError {
  code: string;
  message: string;
  data: Record<string, unknown>;
  statusCode?: number;
}

export interface CallOptions {
  /** Business parameters in a form body instead of the query string. */
  body?: boolean;
  version?: string;
  /**
   * openapi-client V3 only: request headers, which the client signs (e.g. `x-acs-date`,
   * `x-acs-signature-nonce`). v1 clients take `Timestamp` / `SignatureNonce` as parameters instead.
   */
  headers?: Record<string, string>;
}

export interface Client {
  name: string;
  call(action: string, params?: Params, options?: CallOptions): Promise<Record<string, unknown>>;
}

/** A call of one of ensnap's own operations (accounts, orders, fault rules: its version, not ENS's). */
export const ensnapCall = (client: Client, action: string, params: Params = {}) =>
  client.call(action, params, { version: ENSNAP_VERSION });

const clean = (params: Params): Record<string, string> =>
  Object.fromEntries(
    Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );

/** pop-core: GET by default, POST form body with `{ body: true }`. */
export function popCore(e: Endpoint, version = '2017-11-10'): Client {
  const PopClient = (RPCClient as unknown as { RPCClient: typeof RPCClient }).RPCClient;
  return {
    name: 'pop-core',
    async call(action, params = {}, options = {}) {
      if (options.headers)
        throw new Error('pop-core signs no headers: pass Timestamp/SignatureNonce as params');
      const client = new PopClient({
        accessKeyId: e.accessKeyId,
        accessKeySecret: e.accessKeySecret,
        endpoint: e.endpoint,
        apiVersion: options.version ?? version,
      });
      return client.request<Record<string, unknown>>(
        action,
        clean(params),
        options.body ? { method: 'POST' } : {},
      );
    },
  };
}

// CommonJS packages with `exports.default`: under ESM the class sits one level down.
const OpenApiClient = OpenApiModule.default;
const OpenApiUtil = OpenApiUtilModule.default;

/**
 * openapi-client driven as the generated ENS SDK drives it: POST, parameters in the query (or in
 * a form body with `{ body: true }`), signed with `algorithm` (default ACS3-HMAC-SHA256; `v2` = v1).
 */
export function openApi(e: Endpoint, algorithm?: 'ACS3-HMAC-SHA256' | 'ACS3-HMAC-SM3' | 'v2'): Client {
  return {
    name: `openapi-client ${algorithm ?? 'V3'}`,
    async call(action, params = {}, options = {}) {
      if (options.headers && algorithm === 'v2') {
        throw new Error('v2 mode signs no headers: pass Timestamp/SignatureNonce as params');
      }
      const config = new OpenApi.Config({
        accessKeyId: e.accessKeyId,
        accessKeySecret: e.accessKeySecret,
        endpoint: e.hostPort,
        protocol: 'HTTP',
      });
      if (algorithm) config.signatureAlgorithm = algorithm;
      const client = new OpenApiClient(config);
      const request = new OpenApi.Params({
        action,
        version: options.version ?? '2017-11-10',
        protocol: 'HTTPS',
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      });
      const payload = OpenApiUtil.query(clean(params));
      const req = new OpenApi.OpenApiRequest({
        ...(options.body ? { body: payload } : { query: payload }),
        ...(options.headers ? { headers: options.headers } : {}),
      });
      const response = (await client.callApi(request, req, new TeaUtil.RuntimeOptions({}))) as {
        body: Record<string, unknown>;
      };
      return response.body;
    },
  };
}

/** Every client and signature mode the tests drive. */
export function allClients(e: Endpoint): Client[] {
  return [popCore(e), openApi(e), openApi(e, 'ACS3-HMAC-SM3'), openApi(e, 'v2')];
}

/**
 * The same client, answering plain objects: pop-core parses with json-bigint, whose objects have
 * a null prototype, which `assert.deepStrictEqual` tells apart from `{}`.
 */
export function plain(client: Client): Client {
  return {
    name: client.name,
    call: async (action, params, options) =>
      JSON.parse(JSON.stringify(await client.call(action, params, options))) as Record<string, unknown>,
  };
}

/**
 * Every client and signature mode, each with its parameters in the query and in a form body:
 * pop-core GET and POST, openapi-client V3 / SM3 / v2 with query and with body. Answers are plain
 * objects (see `plain`).
 */
export function everyMode(e: Endpoint): Client[] {
  return allClients(e).flatMap((client) =>
    (['query', 'body'] as const).map((mode): Client => ({
      name: `${client.name === 'pop-core' ? (mode === 'body' ? 'pop-core POST' : 'pop-core GET') : client.name} ${mode}`,
      call: (action, params, options = {}) =>
        plain(client).call(action, params, { ...options, body: mode === 'body' }),
    })),
  );
}

/** Runs `fn`, expects it to throw an SDK error, and returns it. */
export async function sdkError(fn: () => Promise<unknown>): Promise<SdkError> {
  try {
    await fn();
  } catch (error) {
    const e = error as {
      code?: string;
      message?: string;
      data?: Record<string, unknown>;
      statusCode?: number;
      /** pop-core keeps the HTTP status here, not in statusCode. */
      entry?: { response?: { statusCode?: number } };
    };
    return {
      code: String(e.code),
      message: String(e.message),
      data: e.data ?? {},
      statusCode: e.statusCode ?? e.entry?.response?.statusCode,
    };
  }
  throw new Error('expected the call to fail');
}

// --- Hand-signed requests, for what no SDK sends (replays, other methods, broken headers) ---

export interface RawRequest {
  url: string;
  init: RequestInit;
}

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  json(): Record<string, unknown>;
}

/** `yyyy-MM-ddTHH:mm:ssZ`, as the SDKs send Timestamp and x-acs-date. */
export function utcTimestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

export const newNonce = (): string => randomBytes(16).toString('hex');

/**
 * A v1 (HMAC-SHA1) request signed by hand: pop-core's protocol parameters, overridden by `params`
 * (an `undefined` value removes one). Every parameter goes in the query, or in a form body.
 */
export function signV1(
  e: Endpoint,
  params: Record<string, string | undefined>,
  options: { method?: string; body?: boolean; secret?: string } = {},
): RawRequest {
  const merged: Record<string, string | undefined> = {
    Format: 'JSON',
    Version: '2017-11-10',
    AccessKeyId: e.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: newNonce(),
    Timestamp: utcTimestamp(),
    ...params,
  };
  const all = new Map<string, string>();
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) all.set(k, v);
  const method = options.method ?? 'GET';
  all.set('Signature', v1Sign(v1StringToSign(method, all), options.secret ?? e.accessKeySecret));
  const encoded = [...all].map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
  if (options.body) {
    return {
      url: `${e.endpoint}/`,
      init: { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encoded },
    };
  }
  return { url: `${e.endpoint}/?${encoded}`, init: { method } };
}

/**
 * A V3 (ACS3-HMAC-SHA256 by default) request signed by hand, business parameters in the query and
 * an empty body, as the generated SDK sends it; `headers` override the protocol headers and are
 * signed. `host` is signed but left to fetch to send (it is the same value).
 */
export function signV3(
  e: Endpoint,
  action: string,
  query: Record<string, string>,
  options: {
    method?: string;
    headers?: Record<string, string>;
    secret?: string;
    algorithm?: V3Algorithm;
  } = {},
): RawRequest {
  const algorithm = options.algorithm ?? 'ACS3-HMAC-SHA256';
  const method = options.method ?? 'POST';
  const payloadHash = hashHex(algorithm, '');
  const headers: Record<string, string> = {
    host: e.hostPort,
    'x-acs-action': action,
    'x-acs-version': '2017-11-10',
    'x-acs-date': utcTimestamp(),
    'x-acs-signature-nonce': newNonce(),
    'x-acs-content-sha256': payloadHash,
    ...options.headers,
  };
  const q = new Map(Object.entries(query));
  const signedHeaders = Object.keys(headers).sort();
  const { stringToSign } = v3StringToSign({
    algorithm,
    method,
    path: '/',
    query: q,
    headers: (name) => headers[name],
    signedHeaders,
    payloadHash,
  });
  const signature = v3Sign(algorithm, stringToSign, options.secret ?? e.accessKeySecret);
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'host'));
  sent.authorization = `${algorithm} Credential=${e.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  return {
    url: `${e.endpoint}/${q.size > 0 ? '?' + canonicalQuery(q) : ''}`,
    init: { method, headers: sent },
  };
}

/** Sends a raw request; the body is kept as text. */
export async function send(request: RawRequest): Promise<RawResponse> {
  const response = await fetch(request.url, request.init);
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}
