// One RPC request, start to finish: decode, read the envelope, find the operation by (Version,
// Action), authenticate, validate the input against the operation's spec, run it, render. Every
// failure becomes a catalog error in the caller's format; anything unexpected is logged and
// answered as InternalError without internals.
import { ApiError } from '../errors/catalog.js';
import { newRequestId } from '../domain/ids.js';
import { findVersion } from '../operations/catalog.js';
import { readInput, type OperationContext } from '../operations/spec.js';
import { readEnvelope, type Authenticator } from './authenticate.js';
import { decodeRequest, header, type DecodedRequest, type HttpRequestView } from './decode.js';
import { renderError, renderSuccess, type ResponseFormat } from './render.js';

export interface RpcOutcome {
  status: number;
  contentType: string;
  body: string;
  requestId: string;
  /** The operation's action once it was found in the catalog, else "". */
  action: string;
  accessKeyId: string;
  /** The error code, or "OK". */
  code: string;
  /** The catalog key of the error (bounded, for metrics), or "OK". */
  codeKey: string;
}

export type ServiceContext = Omit<OperationContext, 'caller' | 'requestId'>;

export class RpcDispatcher {
  constructor(
    private readonly auth: Authenticator,
    private readonly services: ServiceContext,
    private readonly onUnexpected: (error: unknown, requestId: string) => void,
  ) {}

  async handle(http: HttpRequestView): Promise<RpcOutcome> {
    const requestId = newRequestId();
    let format: ResponseFormat = 'JSON';
    let action = '';
    let accessKeyId = '';
    try {
      if (http.method !== 'GET' && http.method !== 'POST')
        throw new ApiError('UnsupportedHTTPMethod', http.method);
      const req = decodeRequest(http);
      if (req.path !== '/') throw new ApiError('InvalidAction.NotFound');
      format = responseFormat(req);
      const envelope = readEnvelope(req);
      accessKeyId = envelope.accessKeyId;
      const actions = findVersion(envelope.version);
      if (!actions) throw new ApiError('InvalidVersion');
      const operation = actions.get(envelope.action);
      if (!operation) throw new ApiError('InvalidAction.NotFound');
      action = operation.action;
      const caller = await this.auth.verify(req, envelope);
      const input = readInput(operation.params, req.params);
      const fields = await operation.handle({ ...this.services, caller, requestId }, input);
      const rendered = renderSuccess(format, action, requestId, fields);
      return { status: 200, ...rendered, requestId, action, accessKeyId, code: 'OK', codeKey: 'OK' };
    } catch (thrown) {
      const error = thrown instanceof ApiError ? thrown : new ApiError('InternalError');
      if (!(thrown instanceof ApiError)) this.onUnexpected(thrown, requestId);
      const rendered = renderError(format, {
        requestId,
        hostId: hostId(http),
        code: error.code,
        message: error.message,
      });
      return {
        status: error.status,
        ...rendered,
        requestId,
        action,
        accessKeyId,
        code: error.code,
        codeKey: error.key,
      };
    }
  }
}

/** Format=JSON|XML in any case; without it, JSON for V3 (it has no Format) and XML for V1. */
function responseFormat(req: DecodedRequest): ResponseFormat {
  const format = req.params.get('Format');
  if (format === undefined) return header(req.http, 'authorization')?.startsWith('ACS3-') ? 'JSON' : 'XML';
  const upper = format.toUpperCase();
  if (upper === 'JSON' || upper === 'XML') return upper;
  throw new ApiError('InvalidParameter.%s', 'Format');
}

/**
 * The format of an error found before the dispatcher saw the request (a body over the limit, a
 * malformed URL): the one the dispatcher would choose from the query string alone, in the same
 * order (method, encoding, path, Format); JSON when the query cannot tell.
 */
export function queryFormat(http: HttpRequestView): ResponseFormat {
  if (http.method !== 'GET' && http.method !== 'POST') return 'JSON';
  try {
    const req = decodeRequest({ ...http, body: Buffer.alloc(0) });
    return req.path === '/' ? responseFormat(req) : 'JSON';
  } catch {
    return 'JSON';
  }
}

export function hostId(http: HttpRequestView): string {
  const host = header(http, 'host') ?? '';
  const colon = host.lastIndexOf(':');
  return (colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host) || 'ensnap';
}
