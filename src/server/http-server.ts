// The HTTP shell: takes bytes off the socket and hands every RPC request to the dispatcher; it
// knows nothing of snapshots. GET /metrics serves Prometheus metrics. Each request is logged once
// (pino) with its RequestId, Action, caller, latency and code.
//
// The common case, a GET of `/` or `/?…` (how the SDKs send RPC calls), is answered straight from
// node:http's request event: such a request has no body and Fastify would only route it to the
// catch-all below, at about a fifth of the request's CPU. Everything else (POST bodies and their
// limits, other paths and methods, /metrics, refusals) goes through Fastify. Both paths hand the
// dispatcher the same request view and answer through the same `answer` function.
import {
  createServer,
  maxHeaderSize,
  STATUS_CODES,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ApiError } from '../errors/catalog.js';
import { newRequestId } from '../domain/ids.js';
import { hostId, queryFormat, type RpcDispatcher } from '../protocol/rpc-dispatcher.js';
import type { HttpRequestView } from '../protocol/decode.js';
import { renderError } from '../protocol/render.js';
import { BodyBuffers } from './body-buffers.js';
import type { Metrics } from './metrics.js';
import type { RpcOutcome } from '../protocol/rpc-dispatcher.js';

export interface HttpServerOptions {
  dispatcher: RpcDispatcher;
  metrics: Metrics;
  log: Logger;
  bodyLimitBytes: number;
  /** The limit for raw `application/octet-stream` bodies (the data plane's writes). */
  dataBodyLimitBytes?: number;
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { dispatcher, metrics, log } = options;
  // While stopping, each answer closes its connection, so keep-alive clients cannot hold the
  // shutdown open for the keep-alive timeout.
  let closing = false;

  const app = Fastify({
    // node:http as Fastify would make it (Fastify's defaults: keep-alive 72 s, no request or
    // connection timeout), with the RPC fast path in front of Fastify's handler. A request without
    // Host is answered by the dispatcher (HostId "ensnap"), not with Node's empty 400.
    serverFactory: (fastifyHandler) => {
      const server = createServer({ requireHostHeader: false }, (req, res) => {
        if (req.method === 'GET' && isRpcTarget(req.url)) serveRpc(req, res);
        else fastifyHandler(req, res);
      });
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    // Requests on open connections during shutdown are served, not refused with a foreign body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // RPC parameters are in the query string: keep it whole for the dispatcher, which decodes it
    // itself; Fastify's own parse into request.query would go unused, so it is skipped.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 500, querystringParser: () => ({}) },
    // What Node's parser or Fastify's router refuse is answered in the catalog's envelope too.
    clientErrorHandler: (error, socket) => onClientError(error, socket),
    frameworkErrors: (error, request, reply) => sendError(request, reply, refusal(error, request)),
  });
  // CONNECT is not served: answer it (Node would close the connection without a word).
  app.server.on('connect', (_req, socket: Socket) =>
    answerOnSocket(socket, new ApiError('UnsupportedHTTPMethod', 'CONNECT')),
  );
  // An Expect other than 100-continue is ignored (RFC 9110 allows it), not refused with Node's
  // bodiless 417.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res));

  // Every body arrives as raw bytes: V3 hashes them, and the dispatcher parses form bodies.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Raw data (WriteDiskData) may be larger; the dispatcher holds other operations to bodyLimit.
  const dataLimit = Math.max(options.bodyLimitBytes, options.dataBodyLimitBytes ?? 0);
  // Read into buffers kept for the next requests, given back once the request is answered.
  const bodies = new BodyBuffers();
  app.addContentTypeParser('application/octet-stream', (request, payload, done) => {
    bodies.read(payload, request.headers['content-length'], dataLimit).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.addHook('preClose', async () => {
    closing = true;
  });

  app.all('/*', async (request, reply) => {
    const started = process.hrtime.bigint();
    const http = view(request);
    const outcome = await dispatcher.handle(http).finally(() => bodies.give(http.body));
    reply.hijack();
    answer(reply.raw, outcome, started);
  });

  /** A bodiless GET of the RPC path, straight from node:http. */
  function serveRpc(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    dispatcher.handle(rawView(req)).then(
      (outcome) => answer(res, outcome, started),
      (error: unknown) => {
        log.error({ err: error }, 'unexpected error');
        res.destroy();
      },
    );
  }

  /** Counts, logs and sends the dispatcher's answer. */
  function answer(res: ServerResponse, outcome: RpcOutcome, started: bigint): void {
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
    const headers: OutgoingHttpHeaders = {
      'content-type': outcome.contentType,
      'x-acs-request-id': outcome.requestId,
      'content-length': Buffer.byteLength(outcome.body),
    };
    if (closing) headers.connection = 'close';
    res.writeHead(outcome.status, headers);
    // `sent` runs on 'finish': the body has been handed to the kernel, so its buffer may be reused.
    if (outcome.sent) res.end(outcome.body, outcome.sent);
    else res.end(outcome.body);
  }

  // Fastify's own refusals (body too large, bad content length, …) in the catalog's envelope.
  function refusal(error: { statusCode?: number; code?: string }, request: FastifyRequest): ApiError {
    const raw = /^application\/octet-stream\s*(;|$)/i.test(request.headers['content-type'] ?? '');
    const apiError =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new ApiError('InvalidParameter.Body', String(raw ? dataLimit : options.bodyLimitBytes))
        : error.statusCode !== undefined && error.statusCode < 500
          ? new ApiError('InvalidParameter.Encoding', 'the HTTP request is malformed')
          : new ApiError('InternalError');
    if (apiError.key === 'InternalError') log.error({ err: error }, 'unexpected HTTP error');
    return apiError;
  }
  app.setErrorHandler((error: { statusCode?: number; code?: string }, request, reply) =>
    sendError(request, reply, refusal(error, request)),
  );
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new ApiError('InvalidAction.NotFound')),
  );

  function sendError(request: FastifyRequest, reply: import('fastify').FastifyReply, error: ApiError): void {
    const requestId = newRequestId();
    const http = view(request);
    // In the format the request's query asks for: the dispatcher never saw it.
    const rendered = renderError(queryFormat(http), {
      requestId,
      hostId: hostId(http),
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

  // Requests Node's HTTP parser refuses (request line, headers or framing malformed; headers over
  // the size limit; sent too slowly) never become requests: answer on the socket, then close.
  function onClientError(error: { code?: string; rawPacket?: unknown }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // Answered already (the parser reports every later chunk again), or a response is under way
    // on this connection and an answer would corrupt it: close, as Node does.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      if (socket.writable) socket.destroy();
      return;
    }
    const why =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? `the request line and headers are larger than ${maxHeaderSize} bytes`
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'the request did not arrive in time'
          : 'the HTTP request is malformed';
    // A HEAD request gets the answer's head only (the packet starts with the request line).
    const head = Buffer.isBuffer(error.rawPacket) && error.rawPacket.toString('latin1', 0, 5) === 'HEAD ';
    answerOnSocket(socket, new ApiError('InvalidParameter.Encoding', why), !head);
  }

  function answerOnSocket(socket: Socket, error: ApiError, withBody = true): void {
    const requestId = newRequestId();
    const rendered = renderError('JSON', {
      requestId,
      hostId: 'ensnap',
      code: error.code,
      message: error.message,
    });
    metrics.observe('', error.key, 0);
    log.info({ requestId, action: '', caller: '', status: error.status, code: error.code }, 'request');
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
        `content-type: ${rendered.contentType}\r\nx-acs-request-id: ${requestId}\r\n` +
        `content-length: ${Buffer.byteLength(rendered.body)}\r\nconnection: close\r\n\r\n` +
        (withBody ? rendered.body : ''),
    );
    // Read on until the client is done sending (closing with input unread would reset the
    // connection before the client reads the answer), but not for ever.
    socket.resume();
    socket.setTimeout(5_000, () => socket.destroy());
  }

  return app;
}

const NO_BODY = Buffer.alloc(0);

/** `/` or `/?…`: the path Fastify's router would see is `/`. */
function isRpcTarget(url: string | undefined): boolean {
  return (
    url !== undefined && url.charCodeAt(0) === 47 /* / */ && (url.length === 1 || url.charCodeAt(1) === 63)
  ); /* ? */
}

/** What `view` gives for a bodiless request, from node:http's own request object. */
function rawView(req: IncomingMessage): HttpRequestView {
  return {
    method: req.method as string,
    url: req.url as string,
    headers: req.headers,
    body: NO_BODY,
    sourceIp: req.socket.remoteAddress ?? '',
    secure: false,
  };
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
