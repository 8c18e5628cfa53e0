// One RPC request, start to finish: decode, read the envelope, find the operation by (Version,
// Action), authenticate, validate the input against the operation's spec, run it, render. Every
// failure becomes a catalog error in the caller's format; anything unexpected is logged and
// answered as InternalError without internals.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, apiErrorForUnexpected, missingParameter } from '../errors/catalog.js';
import { newRequestId } from '../domain/ids.js';
import { findVersion } from '../operations/catalog.js';
import { BinaryReply, readInput, type Operation, type OperationContext } from '../operations/spec.js';
import type { Authorizer } from '../domain/iam/authorizer.js';
import { readEnvelope, type Authenticator, type Envelope } from './authenticate.js';
import { decodeRequest, header, type DecodedRequest, type HttpRequestView } from './decode.js';
import { renderError, renderSuccess, type ResponseFormat } from './render.js';

export interface RpcOutcome {
  status: number;
  contentType: string;
  /** A JSON/XML document, or raw bytes (application/octet-stream) from a data-plane read. */
  body: string | Buffer;
  requestId: string;
  /** The operation's action once it was found in the catalog, else "". */
  action: string;
  accessKeyId: string;
  /** The error code, or "OK". */
  code: string;
  /** The catalog key of the error (bounded, for metrics), or "OK". */
  codeKey: string;
  /** Called once the body is sent (a BinaryReply's `sent`). */
  sent?: () => void;
}

export type ServiceContext = Omit<OperationContext, 'caller' | 'requestId'>;

export class RpcDispatcher {
  constructor(
    private readonly auth: Authenticator,
    private readonly authorizer: Pick<Authorizer, 'check'>,
    private readonly services: ServiceContext,
    private readonly onUnexpected: (error: unknown, requestId: string) => void,
    /** The body limit of operations that take no raw body (the HTTP server lets larger raw bodies in). */
    private readonly bodyLimitBytes = Infinity,
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
      if (!operation.body && http.body.length > this.bodyLimitBytes)
        throw new ApiError('InvalidParameter.Body', String(this.bodyLimitBytes));
      const caller = await this.auth.verify(req, envelope);
      // RAM before the operation's own parameters (the reference's order): a denied caller learns
      // nothing of what it may not call.
      await this.authorizer.check(caller, {
        action: operation.ramAction,
        resource: operation.resource?.(req.params) ?? '*',
        sourceIp: http.sourceIp,
        secure: http.secure,
        now: new Date(),
      });
      // Fault rules after RAM (an injected fault needs a caller who may make the call) and before
      // the parameters are read: the fault stands for the service failing, whatever was asked.
      const latencyMs = this.services.faults.inject({
        action,
        caller,
        regionId: req.params.get('EnsRegionId') ?? req.params.get('RegionId'),
        requestId,
      });
      if (latencyMs > 0) await sleep(latencyMs);
      const input = readInput(operation.params, req.params);
      const body = operation.body ? rawBody(operation.body, req, envelope) : Buffer.alloc(0);
      const result = await operation.handle({ ...this.services, caller, requestId }, input, body);
      const ok = { requestId, action, accessKeyId, code: 'OK', codeKey: 'OK' };
      if (result instanceof BinaryReply)
        return {
          status: 200,
          contentType: 'application/octet-stream',
          body: result.data,
          sent: result.sent,
          ...ok,
        };
      return { status: 200, ...renderSuccess(format, action, requestId, result), ...ok };
    } catch (thrown) {
      const error = thrown instanceof ApiError ? thrown : apiErrorForUnexpected(thrown);
      if (!(thrown instanceof ApiError)) this.onUnexpected(thrown, requestId);
      const rendered = renderError(format, {
        requestId,
        hostId: hostId(http),
        code: error.code,
        message: error.message,
        accessDeniedDetail: error.accessDeniedDetail,
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

/**
 * The raw body of an operation that takes one: `application/octet-stream`, not empty, within the
 * operation's limit, and intact. V3 signs the body (the server hashes the bytes it received into
 * the canonical request, so a changed body fails the signature); V1 signs only parameters, so a V1
 * request must name the body's SHA-256 in `ContentSha256`, which is checked (V3 may send it too).
 */
function rawBody(spec: NonNullable<Operation['body']>, req: DecodedRequest, envelope: Envelope): Buffer {
  const body = req.http.body;
  if (body.length === 0) throw missingParameter('Body');
  const type = (header(req.http, 'content-type') ?? '').toLowerCase();
  if (!/^application\/octet-stream\s*(;|$)/.test(type))
    throw new ApiError('InvalidParameter.%s', 'Content-Type');
  if (body.length > spec.maxBytes) throw new ApiError('InvalidParameter.Body', String(spec.maxBytes));
  const declared = req.params.get('ContentSha256');
  if (declared === undefined || declared === '') {
    if (envelope.scheme === 'v1') throw missingParameter('ContentSha256');
  } else if (declared.toLowerCase() !== createHash('sha256').update(body).digest('hex')) {
    throw new ApiError('ContentSha256Mismatch');
  }
  return body;
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
