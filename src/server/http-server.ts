// The HTTP shell: Fastify takes bytes off the socket and hands every RPC request to the
// dispatcher; it knows nothing of snapshots. GET /metrics serves Prometheus metrics. Each request
// is logged once (pino) with its RequestId, Action, caller, latency and code.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ApiError } from '../errors/catalog.js';
import { newRequestId } from '../domain/ids.js';
import { hostId, type RpcDispatcher } from '../protocol/rpc-dispatcher.js';
import type { HttpRequestView } from '../protocol/decode.js';
import { renderError } from '../protocol/render.js';
import type { Metrics } from './metrics.js';

export interface HttpServerOptions {
  dispatcher: RpcDispatcher;
  metrics: Metrics;
  log: Logger;
  bodyLimitBytes: number;
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { dispatcher, metrics, log } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    // Requests on open connections during shutdown are served, not refused with a foreign body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // RPC parameters are in the query string: keep it whole for the dispatcher.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 500 },
  });

  // Every body arrives as raw bytes: V3 hashes them, and the dispatcher parses form bodies.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.all('/*', async (request, reply) => {
    const started = process.hrtime.bigint();
    const outcome = await dispatcher.handle(view(request));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observe(outcome.action, outcome.codeKey, seconds);
    log.info(
      {
        requestId: outcome.requestId,
        action: outcome.action,
        caller: outcome.accessKeyId,
        latencyMs: Math.round(seconds * 1e6) / 1e3,
        status: outcome.status,
        code: outcome.code,
      },
      'request',
    );
    reply
      .code(outcome.status)
      .header('content-type', outcome.contentType)
      .header('x-acs-request-id', outcome.requestId);
    return reply.send(outcome.body);
  });

  // Fastify's own refusals (body too large, bad content length, …) in the catalog's envelope.
  app.setErrorHandler((error: { statusCode?: number; code?: string }, request, reply) => {
    const apiError =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new ApiError('InvalidParameter.Body', String(options.bodyLimitBytes))
        : error.statusCode !== undefined && error.statusCode < 500
          ? new ApiError('InvalidParameter.Encoding', 'the HTTP request is malformed')
          : new ApiError('InternalError');
    if (apiError.key === 'InternalError') log.error({ err: error }, 'unexpected HTTP error');
    sendError(request, reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new ApiError('InvalidAction.NotFound')),
  );

  function sendError(request: FastifyRequest, reply: import('fastify').FastifyReply, error: ApiError): void {
    const requestId = newRequestId();
    const rendered = renderError('JSON', {
      requestId,
      hostId: hostId(view(request)),
      code: error.code,
      message: error.message,
    });
    metrics.observe('', error.key, 0);
    log.info({ requestId, action: '', caller: '', status: error.status, code: error.code }, 'request');
    void reply
      .code(error.status)
      .header('content-type', rendered.contentType)
      .header('x-acs-request-id', requestId)
      .send(rendered.body);
  }

  return app;
}

function view(request: FastifyRequest): HttpRequestView {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    sourceIp: request.ip,
    secure: request.protocol === 'https',
  };
}
