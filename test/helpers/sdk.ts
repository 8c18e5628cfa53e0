// The provider's official Node SDK cores, unmodified, pointed at a running ensnap:
// pop-core (signature v1) and openapi-client (V3 by default; `v2` is its classic v1 mode).
import RPCClient from '@alicloud/pop-core';
import OpenApiModule, * as OpenApi from '@alicloud/openapi-client';
import OpenApiUtilModule from '@alicloud/openapi-util';
import * as TeaUtil from '@alicloud/tea-util';

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

export interface Client {
  name: string;
  call(
    action: string,
    params?: Params,
    options?: { body?: boolean; version?: string },
  ): Promise<Record<string, unknown>>;
}

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
      const req = new OpenApi.OpenApiRequest(options.body ? { body: payload } : { query: payload });
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
    };
    return { code: String(e.code), message: String(e.message), data: e.data ?? {}, statusCode: e.statusCode };
  }
  throw new Error('expected the call to fail');
}
