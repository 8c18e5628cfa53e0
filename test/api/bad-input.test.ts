// Bad input, property-based: malformed, mis-signed, replayed and invalid requests over real HTTP
// (fetch for what fetch can send, raw sockets for what it refuses). Whatever arrives, the answer
// must be a 4xx (never a 5xx, never a reset or silence) with a RequestId and the provider's error
// envelope in the format the request asked for (JSON or XML, told apart by content-type), with a
// code from the catalog and nothing internal in it; HEAD answers carry no body. Afterwards the
// database holds exactly what it held before.
//
// The runs are repeatable: fast-check uses a fixed seed (ENSNAP_FC_SEED overrides it). Nonces and
// timestamps are made when a request is sent, so shrinking a failure never replays a nonce.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { ERROR_CATALOG } from '../../src/errors/catalog.js';
import { OPERATIONS } from '../../src/operations/catalog.js';
import { percentEncode } from '../../src/protocol/percent-encoding.js';
import { v1Sign, v1StringToSign } from '../../src/protocol/signature-v1.js';
import {
  hashHex,
  isSupportedV3Algorithm,
  v3Sign,
  v3StringToSign,
  type V3Algorithm,
} from '../../src/protocol/signature-v3.js';
import { OTHER_REGION, REGION, REQUEST_ID } from '../helpers/fixtures.js';
import { startEnsnap, type Running } from '../helpers/ensnap.js';

const SEED = Number(process.env.ENSNAP_FC_SEED ?? 20171110);
const LIMIT = 1024 * 1024; // the default ENSNAP_BODY_LIMIT
const VERSION = '2017-11-10';
const FORM = 'application/x-www-form-urlencoded';
const ANSWER_TIMEOUT_MS = 8_000;
const TABLES = ['accounts', 'access_keys', 'disks', 'disk_tags', 'snapshots', 'orders', 'jobs'] as const;
const V3_ALGORITHMS = (['ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3'] as const).filter(isSupportedV3Algorithm);

type Format = 'JSON' | 'XML';
type Pairs = [string, string][];
type Header = [string, string];

// --- the wire ---------------------------------------------------------------------------------

interface WireRequest {
  /** What the request tests, for failure messages. */
  label: string;
  method: string;
  /** The request target as sent: path and query, already encoded (perhaps deliberately badly). */
  target: string;
  headers: Header[];
  body?: Buffer;
  /** Complete request bytes for what no client sends; the other fields then only describe it. */
  bytes?: Buffer;
  /** Over a raw socket even where fetch could send it (HEAD: to see that no body follows). */
  raw?: boolean;
  /** Leave Host out (raw socket only). */
  noHost?: boolean;
  expect?: Expect;
}

interface Expect {
  /** Codes the answer may carry; any catalog code when absent. */
  codes?: readonly (string | RegExp)[];
  status?: number;
  /** The envelope's format; worked out from the request when absent. */
  format?: Format;
}

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
  /** Bytes after the first answer on a raw socket (there must be none). */
  trailing: Buffer;
  via: 'fetch' | 'socket';
}

interface Envelope {
  RequestId: string;
  HostId: string;
  Code: string;
  Message: string;
}

let server: Running;
let sent = 0;
const sentBy = new Map<string, number>();

async function send(req: WireRequest, category = 'deterministic'): Promise<Answer> {
  sent++;
  sentBy.set(category, (sentBy.get(category) ?? 0) + 1);
  return fetchable(req) ? viaFetch(req) : viaSocket(req);
}

const FETCH_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
const FETCH_FORBIDDEN = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect']);

/** Whether fetch sends exactly these bytes (no URL normalisation, no merged or dropped headers). */
function fetchable(req: WireRequest): boolean {
  if (req.bytes || req.raw || req.noHost || !FETCH_METHODS.has(req.method)) return false;
  if (req.method === 'GET' && req.body?.length) return false;
  const names = req.headers.map(([n]) => n.toLowerCase());
  if (new Set(names).size !== names.length || names.some((n) => FETCH_FORBIDDEN.has(n))) return false;
  if (
    req.headers.some(
      ([n, v]) => !/^[\w!#$%&'*+.^`|~-]+$/.test(n) || !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v),
    )
  )
    return false;
  try {
    const url = new URL(req.target, server.endpoint);
    return url.pathname + url.search === req.target && url.hash === '';
  } catch {
    return false;
  }
}

async function viaFetch(req: WireRequest): Promise<Answer> {
  let res: Response;
  let body: Buffer;
  try {
    res = await fetch(server.endpoint + req.target, {
      method: req.method,
      headers: req.headers,
      body: req.body?.length ? req.body : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    body = Buffer.from(await res.arrayBuffer());
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${req.label}: no answer over fetch (${cause?.code ?? cause?.message ?? String(error)})`);
  }
  const headers = new Map<string, string>();
  res.headers.forEach((value, name) => headers.set(name, value));
  return { status: res.status, headers, body, trailing: Buffer.alloc(0), via: 'fetch' };
}

function compose(req: WireRequest): Buffer {
  const body = req.body ?? Buffer.alloc(0);
  const lines = [`${req.method} ${req.target} HTTP/1.1`];
  if (!req.noHost) lines.push(`Host: ${server.hostPort}`);
  for (const [name, value] of req.headers) lines.push(`${name}: ${value}`);
  const framed = req.headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n));
  if (!framed && (body.length > 0 || req.method === 'POST')) lines.push(`Content-Length: ${body.length}`);
  lines.push('Connection: close');
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

function viaSocket(req: WireRequest): Promise<Answer> {
  const bytes = req.bytes ?? compose(req);
  const url = new URL(server.endpoint);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => {
      socket.destroy();
      reject(new Error(`${req.label}: no answer within ${ANSWER_TIMEOUT_MS} ms`));
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`${req.label}: connection failed (${error.code ?? error.message})`)),
    );
    socket.on('end', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks), req.method));
      } catch (error) {
        reject(new Error(`${req.label}: ${(error as Error).message}`));
      }
    });
    socket.end(bytes);
  });
}

/** The first final answer in `bytes` (1xx interim answers skipped). */
function parseAnswer(bytes: Buffer, method: string): Answer {
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end > 0, `no complete answer: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] as string);
    assert.ok(m, `not an HTTP answer: ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    rest = rest.subarray(end + 4);
    if (status < 200) continue;
    if (method === 'HEAD') return { status, headers, body: rest, trailing: Buffer.alloc(0), via: 'socket' };
    if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const { body, after } = dechunk(rest);
      return { status, headers, body, trailing: after, via: 'socket' };
    }
    const length = headers.get('content-length');
    if (length === undefined)
      return { status, headers, body: rest, trailing: Buffer.alloc(0), via: 'socket' };
    const n = Number(length);
    assert.ok(rest.length >= n, `answer cut short: ${rest.length} of ${n} bytes`);
    return { status, headers, body: rest.subarray(0, n), trailing: rest.subarray(n), via: 'socket' };
  }
}

function dechunk(bytes: Buffer): { body: Buffer; after: Buffer } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = bytes.indexOf('\r\n', at);
    assert.ok(eol >= 0, 'chunked answer cut short');
    const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
    assert.ok(Number.isInteger(size), 'bad chunk size in the answer');
    at = eol + 2;
    if (size === 0)
      return { body: Buffer.concat(parts), after: bytes.subarray(bytes.indexOf('\r\n', at) + 2) };
    parts.push(bytes.subarray(at, at + size));
    at += size + 2;
  }
}

// --- what every answer must be ----------------------------------------------------------------

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const template = (text: string, hole: string) =>
  new RegExp('^' + text.split('%s').map(escapeRegExp).join(hole) + '$');
const CATALOG = Object.entries(ERROR_CATALOG).map(([code, entry]) => ({
  code: template(code, '[\\s\\S]+'),
  message: template(entry.message, '[\\s\\S]*'),
  status: entry.status,
}));
const LEAKS = [/at .*\(/, /node_modules/, /\.ts:/, /\.js:\d/];
const CONTENT_TYPE: Record<Format, string> = {
  JSON: 'application/json;charset=utf-8',
  XML: 'text/xml;charset=utf-8',
};
const XML_ERROR =
  /^<\?xml version="1\.0" encoding="UTF-8"\?><Error><RequestId>([^<]*)<\/RequestId><HostId>([^<]*)<\/HostId><Code>([^<]*)<\/Code><Message>([^<]*)<\/Message><\/Error>$/;
const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeExchange(req: WireRequest, ans: Answer): string {
  const line = req.bytes ? req.bytes.toString('latin1').split(/\r?\n/)[0] : `${req.method} ${req.target}`;
  const shown = JSON.stringify((line ?? '').length > 160 ? line?.slice(0, 160) + '…' : line);
  return `${req.label}: ${shown} via ${ans.via} → ${ans.status} ${ans.body.toString('utf8').slice(0, 400)}`;
}

/** Checks the answer against the properties; returns its envelope (undefined for HEAD). */
function check(req: WireRequest, ans: Answer, expect: Expect = req.expect ?? {}): Envelope | undefined {
  const where = describeExchange(req, ans);
  assert.ok(ans.status >= 400 && ans.status < 500, `not a 4xx: ${where}`);
  if (expect.status !== undefined) assert.equal(ans.status, expect.status, where);
  const requestId = ans.headers.get('x-acs-request-id') ?? '';
  assert.match(requestId, REQUEST_ID, `x-acs-request-id: ${where}`);
  assert.equal(ans.trailing.length, 0, `bytes after the answer: ${where}`);
  const format = expect.format ?? expectedFormat(req);
  assert.equal(ans.headers.get('content-type'), CONTENT_TYPE[format], `content-type: ${where}`);
  if (req.method === 'HEAD') {
    assert.equal(ans.body.length, 0, `a HEAD answer with a body: ${where}`);
    return undefined;
  }
  let text: string;
  try {
    text = utf8.decode(ans.body);
  } catch {
    assert.fail(`body not UTF-8: ${where}`);
  }
  for (const leak of LEAKS) assert.doesNotMatch(text, leak, `internals in the body: ${where}`);
  const envelope = format === 'JSON' ? jsonEnvelope(text, where) : xmlEnvelope(text, where);
  assert.equal(envelope.RequestId, requestId, `RequestId differs from x-acs-request-id: ${where}`);
  assert.ok(envelope.HostId.length > 0, `empty HostId: ${where}`);
  assert.ok(
    CATALOG.some(
      (c) => c.code.test(envelope.Code) && c.message.test(envelope.Message) && c.status === ans.status,
    ),
    `not a catalog error (code, message and status): ${where}`,
  );
  if (expect.codes) {
    assert.ok(
      expect.codes.some((c) => (typeof c === 'string' ? c === envelope.Code : c.test(envelope.Code))),
      `expected ${expect.codes.join(' | ')}: ${where}`,
    );
  }
  return envelope;
}

function jsonEnvelope(text: string, where: string): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`content-type says JSON, body is not: ${where}`);
  }
  assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body), `not a JSON object: ${where}`);
  assert.deepEqual(Object.keys(body).sort(), ['Code', 'HostId', 'Message', 'RequestId'], where);
  for (const value of Object.values(body)) assert.equal(typeof value, 'string', where);
  return body as Envelope;
}

function xmlEnvelope(text: string, where: string): Envelope {
  const m = XML_ERROR.exec(text);
  assert.ok(m, `content-type says XML, body is not the <Error> document: ${where}`);
  const values = m.slice(1).map((raw) => {
    assert.doesNotMatch(raw, /&(?!(lt|gt|amp|quot|apos);)/, `unescaped & in XML: ${where}`);
    return raw.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => XML_ENTITIES[e] as string);
  }) as [string, string, string, string];
  return { RequestId: values[0], HostId: values[1], Code: values[2], Message: values[3] };
}

function header(req: WireRequest, name: string): string | undefined {
  return req.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** `a=1&b=2` with form rules into `into`; null where the server must refuse the encoding. */
function strictForm(text: string, into: Map<string, string>): Map<string, string> | null {
  for (const pair of text === '' ? [] : text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return null;
    }
    if (name === '' || into.has(name)) return null;
    into.set(name, value);
  }
  return into;
}

/**
 * The format the answer must have: the request's Format (any case; anything else is refused in
 * JSON); without one, JSON for V3 and XML for V1 (the reference's default); JSON wherever the
 * server cannot read the Format (unparsable HTTP, a method or path it does not serve, broken
 * encoding, a parameter given twice).
 */
function expectedFormat(req: WireRequest): Format {
  if (req.bytes || (req.method !== 'GET' && req.method !== 'POST')) return 'JSON';
  // Node's parser refuses a target with spaces, control characters or bytes beyond ASCII (spaces
  // at its end it takes for the separator before HTTP/1.1).
  const asSent = req.target.replace(/ +$/, '');
  if (/[^\x21-\x7e]/.test(asSent)) return 'JSON';
  const q = asSent.indexOf('?');
  if ((q < 0 ? asSent : asSent.slice(0, q)) !== '/') return 'JSON';
  const params = strictForm(q < 0 ? '' : asSent.slice(q + 1), new Map());
  if (!params) return 'JSON';
  const body = req.body ?? Buffer.alloc(0);
  const type = (header(req, 'content-type') ?? '').toLowerCase();
  if (req.method === 'POST' && body.length > 0 && body.length <= LIMIT && type.startsWith(FORM)) {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return 'JSON';
    }
    if (!strictForm(text, params)) return 'JSON';
  }
  const format = params.get('Format');
  if (format === undefined) return header(req, 'authorization')?.startsWith('ACS3-') ? 'JSON' : 'XML';
  return format.toUpperCase() === 'XML' ? 'XML' : 'JSON';
}

// --- the database -----------------------------------------------------------------------------

type Picture = Record<(typeof TABLES)[number], string[]>;

function picture(): Picture {
  const db = new Database(path.join(server.dataDir, 'ensnap.db'), { readonly: true, fileMustExist: true });
  try {
    const read = (table: string) =>
      (db.prepare(`SELECT * FROM ${table}`).all() as unknown[]).map((row) => JSON.stringify(row)).sort();
    return Object.fromEntries(TABLES.map((t) => [t, read(t)])) as Picture;
  } finally {
    db.close();
  }
}

function rows(pic: Picture, table: (typeof TABLES)[number]): Record<string, unknown>[] {
  return pic[table].map((row) => JSON.parse(row) as Record<string, unknown>);
}

// --- building requests ------------------------------------------------------------------------

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const form = (pairs: Pairs, encode: (s: string) => string = percentEncode) =>
  pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
const target = (query: Pairs) => (query.length ? `/?${form(query)}` : '/');

/** An RPC request in parts, so that it can be signed and then broken. */
interface Parts {
  method: string;
  query: Pairs;
  /** Form body parameters (V1), sent as application/x-www-form-urlencoded. */
  body?: Pairs;
  /** Raw body (V3), with its content type. */
  rawBody?: Buffer;
  contentType?: string;
  /** Header names in lower case. */
  headers: Map<string, string>;
}

function wire(parts: Parts, label: string, expect?: Expect): WireRequest {
  const headers: Header[] = [...parts.headers].filter(([n]) => n !== 'host');
  let body = parts.rawBody;
  if (parts.body) body = Buffer.from(form(parts.body));
  const type = parts.contentType ?? (parts.body ? FORM : undefined);
  if (type !== undefined && body && !parts.headers.has('content-type')) headers.push(['content-type', type]);
  return { label, method: parts.method, target: target(parts.query), headers, body, expect };
}

const get = (pairs: Pairs, name: string) => pairs.find(([k]) => k === name)?.[1];
const without = (pairs: Pairs, name: string): Pairs => pairs.filter(([k]) => k !== name);
const setParam = (pairs: Pairs, name: string, value: string): Pairs => [
  ...without(pairs, name),
  [name, value],
];

interface V1Spec {
  action: string;
  business: Pairs;
  version?: string;
  method?: 'GET' | 'POST';
  /** Business parameters in a form body (POST) instead of the query. */
  inBody?: boolean;
  format?: string;
}

/** A V1 request with every common parameter, not yet signed. */
function v1Parts(spec: V1Spec): Parts {
  const common: Pairs = [
    ['Action', spec.action],
    ['Version', spec.version ?? VERSION],
    ['AccessKeyId', server.accessKeyId],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureVersion', '1.0'],
    ['SignatureNonce', randomUUID()],
    ['Timestamp', iso(Date.now())],
  ];
  if (spec.format !== undefined) common.push(['Format', spec.format]);
  const method = spec.method ?? 'GET';
  const inBody = spec.inBody === true && method === 'POST';
  return {
    method,
    query: inBody ? common : [...common, ...spec.business],
    body: inBody ? spec.business : undefined,
    headers: new Map(),
  };
}

/** Signs query ∪ body (as `method` would, the request's own by default) into the query. */
function signV1(parts: Parts, secret = server.accessKeySecret, method = parts.method): string {
  const params = new Map([...without(parts.query, 'Signature'), ...(parts.body ?? [])]);
  const stringToSign = v1StringToSign(method, params);
  parts.query = [...without(parts.query, 'Signature'), ['Signature', v1Sign(stringToSign, secret)]];
  return stringToSign;
}

interface V3Spec {
  action: string;
  query: Pairs;
  /** Business parameters in a form body instead of the query. */
  body?: Pairs;
  algorithm?: V3Algorithm;
}

function v3Parts(spec: V3Spec): Parts {
  const rawBody = spec.body ? Buffer.from(form(spec.body)) : Buffer.alloc(0);
  const headers = new Map<string, string>([
    ['host', server.hostPort],
    ['x-acs-action', spec.action],
    ['x-acs-version', VERSION],
    ['x-acs-date', iso(Date.now())],
    ['x-acs-signature-nonce', randomBytes(16).toString('hex')],
    ['x-acs-content-sha256', hashHex(spec.algorithm ?? 'ACS3-HMAC-SHA256', rawBody)],
  ]);
  if (spec.body) headers.set('content-type', FORM);
  return {
    method: 'POST',
    query: spec.query,
    rawBody: spec.body ? rawBody : undefined,
    contentType: spec.body ? FORM : undefined,
    headers,
  };
}

/** Sets Authorization, signing host, content-type and every x-acs-* header. */
function signV3(parts: Parts, options: { algorithm?: V3Algorithm; secret?: string } = {}): void {
  const algorithm = options.algorithm ?? 'ACS3-HMAC-SHA256';
  const signed = [...parts.headers.keys()]
    .filter((n) => n === 'host' || n === 'content-type' || n.startsWith('x-acs-'))
    .sort();
  const { stringToSign } = v3StringToSign({
    algorithm,
    method: parts.method,
    path: '/',
    query: new Map(parts.query),
    headers: (name) => parts.headers.get(name),
    signedHeaders: signed,
    payloadHash: parts.headers.get('x-acs-content-sha256') ?? '',
  });
  const signature = v3Sign(algorithm, stringToSign, options.secret ?? server.accessKeySecret);
  parts.headers.set(
    'authorization',
    `${algorithm} Credential=${server.accessKeyId},SignedHeaders=${signed.join(';')},Signature=${signature}`,
  );
}

// --- seeded resources -------------------------------------------------------------------------

interface Seeded {
  disks: { id: string; region: string }[];
  snapshots: { id: string; region: string }[];
}
const seeded: Seeded = { disks: [], snapshots: [] };

async function callOk(action: string, params: Record<string, string>): Promise<Record<string, unknown>> {
  const parts = v1Parts({
    action,
    business: Object.entries(params),
    method: 'POST',
    inBody: true,
    format: 'JSON',
  });
  signV1(parts);
  const req = wire(parts, `seed ${action}`);
  const ans = await send(req, 'seeding');
  assert.equal(ans.status, 200, describeExchange(req, ans));
  return JSON.parse(ans.body.toString()) as Record<string, unknown>;
}

async function createDisk(region: string, params: Record<string, string>): Promise<string> {
  const r = await callOk('CreateDisk', {
    EnsRegionId: region,
    Category: 'cloud_ssd',
    InstanceChargeType: 'PostPaid',
    Size: '20',
    ...params,
  });
  return (r.InstanceIds as string[])[0] as string;
}

async function createSnapshot(diskId: string, region: string, params: Record<string, string> = {}) {
  const r = await callOk('CreateSnapshot', { DiskId: diskId, EnsRegionId: region, ...params });
  const id = r.SnapShotId;
  return (Array.isArray(id) ? id[0] : id) as string;
}

async function until(what: string, done: (pic: Picture) => boolean): Promise<Picture> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pic = picture();
    if (done(pic)) return pic;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const jobsSettled = (pic: Picture) => rows(pic, 'jobs').every((j) => j.state === 'done');

/** Disks and snapshots in two regions, with tags, orders and finished create and delete jobs. */
async function seed(): Promise<Picture> {
  const diskA = await createDisk(REGION, {
    DiskName: 'seed-a',
    'Tag.1.Key': 'env',
    'Tag.1.Value': 'test',
    'Tag.2.Key': 'team',
    'Tag.2.Value': '',
  });
  const diskB = await createDisk(OTHER_REGION, { Category: 'cloud_efficiency', Size: '40' });
  const diskC = await createDisk(REGION, { DiskName: 'seed-c', Size: '30' });
  const snapA = await createSnapshot(diskA, REGION, {
    SnapshotName: 'nightly-1',
    Description: 'seed snapshot',
  });
  const snapB = await createSnapshot(diskB, OTHER_REGION);
  const snapGone = await createSnapshot(diskC, REGION);
  const diskGone = await createDisk(REGION, {});
  await until('the snapshots to be available', (pic) =>
    rows(pic, 'snapshots').every((s) => s.status === 'available'),
  );
  await callOk('DeleteSnapshot', { SnapshotId: snapGone });
  await callOk('DeleteDisk', { DiskId: diskGone });
  const pic = await until(
    'the delete jobs',
    (p) => jobsSettled(p) && p.snapshots.length === 2 && p.disks.length === 3 && p.jobs.length === 5,
  );
  seeded.disks = [
    { id: diskA, region: REGION },
    { id: diskB, region: OTHER_REGION },
    { id: diskC, region: REGION },
  ];
  seeded.snapshots = [
    { id: snapA, region: REGION },
    { id: snapB, region: OTHER_REGION },
  ];
  return pic;
}

// --- generators -------------------------------------------------------------------------------

/** No text the leak check looks for; names also without `(` (echoed in InvalidParameter.<Name>). */
const quiet = (s: string) => !/node_modules|\.ts:|\.js:/.test(s);
const anyValue = fc.string({ unit: 'binary', maxLength: 24 }).filter(quiet);
const anyName = fc.oneof(
  fc.constantFrom(...new Set(OPERATIONS.flatMap((op) => Object.keys(op.params))), 'RegionId', 'Tag.1.Key'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => quiet(s) && !s.includes('(')),
);
/** Parameters no operation knows (ignored, but signed). */
const extras = fc.uniqueArray(fc.tuple(fc.stringMatching(/^Zz[A-Za-z0-9]{0,8}$/), anyValue), {
  maxLength: 2,
  selector: ([k]) => k,
});
const snapshotName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9:_-]{1,30}$/).filter((s) => !s.startsWith('auto'));
const description = fc
  .string({ unit: 'grapheme', minLength: 2, maxLength: 40 })
  .filter((s) => [...s].length >= 2 && !/^https?:\/\//i.test(s) && quiet(s));
const size = fc.integer({ min: 20, max: 32768 }).map(String);
const unknownId = (prefix: string) =>
  fc.oneof(
    fc.stringMatching(/^[a-z0-9]{20,25}$/).map((s) => prefix + s),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => quiet(s) && s.trim() !== ''),
  );
const optional = <T>(arb: fc.Arbitrary<T>, freq = 1) => fc.option(arb, { nil: undefined, freq });
/** `usual` four times in five, `unusual` in the rest. */
const usually = <T>(usual: fc.Arbitrary<T>, unusual: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: unusual });
/** `arb` in `percent` % of the runs, undefined in the rest. */
const sometimes = <T>(arb: fc.Arbitrary<T>, percent: number) =>
  fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary: arb });
/** Pairs from an object, leaving out what is undefined. */
const P = (o: Record<string, string | undefined>): Pairs =>
  Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined);

const BAD_NAMES = ['a', '1abc', 'http://x', 'HTTPS://snap', 'has space', 'x'.repeat(129), 'näme!', '-lead'];
const BAD_DESCRIPTIONS = ['x', 'http://example.com', 'HTTPS://x y', 'y'.repeat(257)];
const BAD_SIZES = ['19', '32769', '0', '-1', '20.5', '1e3', ' 20', '0x20', '99999999999999999', '２０'];
const BAD_PAGE_NUMBERS = ['0', '-1', '1000001', 'one', '1.0'];
const UNKNOWN_REGIONS = ['cn-nowhere-1', 'CN-BEIJING-15', 'cn-beijing-15 ', '*'];

interface Business {
  action: string;
  params: Pairs;
  /** The codes the request must get once authenticated ([] for a request that would succeed). */
  codes: readonly string[];
}

/** A parameter to set (undefined: to leave out) and the codes that must follow. */
type Poison = [name: string, value: string | undefined, codes: readonly string[]];
const invalid = (name: string) => [`InvalidParameter.${name}`];
const bad = (name: string, values: readonly string[], codes = invalid(name)) =>
  fc.constantFrom(...values).map((value): Poison => [name, value, codes]);
const missing = (...names: string[]) =>
  fc.constantFrom(...names).map((name): Poison => [name, undefined, ['MissingParameter']]);

/** Valid parameters for `action` with exactly one poisoned: the code is known. */
function poisoned(action: string, base: fc.Arbitrary<Pairs>, poison: fc.Arbitrary<Poison>) {
  return fc.tuple(base, poison).map(([params, [name, value, codes]]): Business => ({
    action,
    params: value === undefined ? without(params, name) : setParam(params, name, value),
    codes,
  }));
}

/** Each operation with one invalid parameter; everything fails before any write. */
function poisonedBusiness(): fc.Arbitrary<Business> {
  const disk = fc.constantFrom(...seeded.disks);
  const snapshot = fc.constantFrom(...seeded.snapshots);
  const farDisk = seeded.disks.find((d) => d.region === OTHER_REGION) as { id: string };
  const farSnapshot = seeded.snapshots.find((s) => s.region === OTHER_REGION) as { id: string };

  const diskParams = fc
    .record({
      region: fc.constantFrom(REGION, OTHER_REGION),
      category: fc.constantFrom('cloud_ssd', 'cloud_efficiency'),
      size,
      name: optional(snapshotName),
      tag: optional(fc.tuple(snapshotName, snapshotName)),
    })
    .map((d) =>
      P({
        EnsRegionId: d.region,
        Category: d.category,
        InstanceChargeType: 'PostPaid',
        Size: d.size,
        DiskName: d.name,
        'Tag.1.Key': d.tag?.[0],
        'Tag.1.Value': d.tag?.[1],
      }),
    );
  const createDisk = poisoned(
    'CreateDisk',
    diskParams,
    fc.oneof(
      missing('EnsRegionId', 'Category', 'InstanceChargeType', 'Size'),
      bad('EnsRegionId', UNKNOWN_REGIONS),
      bad('Category', ['local_ssd', 'CLOUD_SSD', 'cloud_ssd ', 'ssd']),
      bad('InstanceChargeType', ['PrePaid', 'postpaid']),
      bad('Size', BAD_SIZES),
      bad('DiskName', BAD_NAMES),
      bad('Encrypted', ['yes', 'TRUE', '1']),
      bad('KMSKeyId', ['k'.repeat(129)]),
      bad('SnapshotId', ['sp-doesnotexist0000000000'], ['SnapshotIdNotFound']),
      fc.constantFrom<Poison>(
        ['Tag.21.Key', 'k', invalid('Tag.21.Key')],
        ['Tag.1.Foo', 'k', invalid('Tag.1.Foo')],
        ['Tag.0.Key', 'k', invalid('Tag.0.Key')],
        ['Tag.01.Key', 'k', invalid('Tag.01.Key')],
        ['Tag.3.Key', 'aliyun-reserved', invalid('Tag.3.Key')],
        ['Tag.3.Key', 'k'.repeat(65), invalid('Tag.3.Key')],
        ['Tag.3.Value', 'a value without its key', invalid('Tag.3.Key')],
        ['Tag.3.Value', 'see https://x', invalid('Tag.3.Key')],
      ),
    ),
  );
  // From a snapshot of another region: refused, nothing created.
  const createDiskFromFarSnapshot = fc.constant<Business>({
    action: 'CreateDisk',
    params: P({
      EnsRegionId: REGION,
      Category: 'cloud_ssd',
      InstanceChargeType: 'PostPaid',
      SnapshotId: farSnapshot.id,
    }),
    codes: invalid('EnsRegionId'),
  });

  const snapshotParams = fc
    .record({ disk, name: optional(snapshotName), description: optional(description) })
    .map((s) =>
      P({ DiskId: s.disk.id, EnsRegionId: s.disk.region, SnapshotName: s.name, Description: s.description }),
    );
  const createSnapshot = poisoned(
    'CreateSnapshot',
    snapshotParams,
    fc.oneof(
      missing('DiskId', 'EnsRegionId'),
      bad('SnapshotName', BAD_NAMES),
      bad('Description', BAD_DESCRIPTIONS),
      bad('EnsRegionId', UNKNOWN_REGIONS),
      unknownId('d-').map((id): Poison => ['DiskId', id, ['DiskIdNotFound']]),
    ),
  );
  // The disk lives in another region: refused before anything is written.
  const createSnapshotElsewhere = fc.constant<Business>({
    action: 'CreateSnapshot',
    params: P({ DiskId: farDisk.id, EnsRegionId: REGION }),
    codes: invalid('EnsRegionId'),
  });

  const deleteDisk = poisoned(
    'DeleteDisk',
    fc.constant([]),
    fc.oneof(
      missing('DiskId'),
      fc
        .oneof(
          unknownId('d-'),
          disk.map((d) => d.id.toUpperCase()),
          disk.map((d) => d.id + 'x'),
          disk.map((d) => ' ' + d.id),
        )
        .map((id): Poison => ['DiskId', id, ['DiskIdNotFound']]),
    ),
  );
  const deleteSnapshot = poisoned(
    'DeleteSnapshot',
    fc.constant([]),
    fc.oneof(
      missing('SnapshotId'),
      fc
        .oneof(
          unknownId('s-'),
          snapshot.map((s) => s.id.toUpperCase()),
          snapshot.map((s) => s.id + '0'),
        )
        .map((id): Poison => ['SnapshotId', id, ['INSTANCE_ID_NOT_FOUND']]),
    ),
  );

  const modifySnapshot = poisoned(
    'ModifySnapshotAttribute',
    fc
      .record({ snapshot, name: optional(snapshotName), description: optional(description) })
      .map((m) => P({ SnapshotId: m.snapshot.id, SnapshotName: m.name, Description: m.description })),
    fc.oneof(
      missing('SnapshotId'),
      bad('SnapshotName', [...BAD_NAMES, 'auto1', 'autoSnap']),
      bad('Description', BAD_DESCRIPTIONS),
      unknownId('s-').map((id): Poison => ['SnapshotId', id, ['SnapshotIdNotFound']]),
    ),
  );

  const describeDisks = poisoned(
    'DescribeDisks',
    fc.constantFrom(P({}), P({ EnsRegionId: REGION }), P({ PageNumber: '2', PageSize: '50' })),
    fc.oneof(
      bad('PageSize', ['0', '51', 'ten']),
      bad('PageNumber', BAD_PAGE_NUMBERS),
      bad('Category', ['cloud', 'CLOUD_SSD']),
      bad('Type', ['sys', 'System']),
      bad('DiskIds', [
        'd-1',
        '[1]',
        '{"a":1}',
        '[',
        '[""]',
        JSON.stringify(Array.from({ length: 101 }, (_, i) => `d-${i}`)),
        JSON.stringify(['x'.repeat(129)]),
      ]),
      bad('EnsRegionIds', [REGION, '["cn",1]']),
      bad('OrderByParams', [
        '[]',
        'x',
        '{"DiskNameSort":"up"}',
        '{"Foo":"asc"}',
        '{"SizeSort":1}',
        '{"__proto__":"asc"}',
        '{"constructor":"desc"}',
      ]),
    ),
  );
  const describeSnapshots = poisoned(
    'DescribeSnapshots',
    fc.constantFrom(P({}), P({ EnsRegionId: OTHER_REGION }), P({ PageSize: '100' })),
    fc.oneof(
      bad('PageSize', ['101', '0']),
      bad('PageNumber', BAD_PAGE_NUMBERS),
      bad('SnapshotId', [
        '[1]',
        'a,,b',
        '[',
        '[""]',
        JSON.stringify(Array.from({ length: 101 }, (_, i) => `s-${i}`)),
      ]),
      bad('EnsRegionIds', ['cn', '{}']),
    ),
  );

  return fc.oneof(
    { weight: 4, arbitrary: createDisk },
    { weight: 1, arbitrary: createDiskFromFarSnapshot },
    { weight: 3, arbitrary: createSnapshot },
    { weight: 1, arbitrary: createSnapshotElsewhere },
    { weight: 1, arbitrary: deleteDisk },
    { weight: 1, arbitrary: deleteSnapshot },
    { weight: 2, arbitrary: modifySnapshot },
    { weight: 2, arbitrary: describeDisks },
    { weight: 1, arbitrary: describeSnapshots },
  );
}

/** Requests that would succeed, and write, if they got through: the signature breaks must stop them. */
function validBusiness(): fc.Arbitrary<Business> {
  const disk = fc.constantFrom(...seeded.disks);
  const snapshot = fc.constantFrom(...seeded.snapshots);
  const ok = (action: string, params: Pairs): Business => ({ action, params, codes: [] });
  return fc.oneof(
    fc
      .record({ region: fc.constantFrom(REGION, OTHER_REGION), size, name: optional(snapshotName) })
      .map((d) =>
        ok(
          'CreateDisk',
          P({
            EnsRegionId: d.region,
            Category: 'cloud_ssd',
            InstanceChargeType: 'PostPaid',
            Size: d.size,
            DiskName: d.name,
          }),
        ),
      ),
    fc.record({ disk, name: optional(snapshotName), description: optional(description) }).map((s) =>
      ok(
        'CreateSnapshot',
        P({
          DiskId: s.disk.id,
          EnsRegionId: s.disk.region,
          SnapshotName: s.name,
          Description: s.description,
        }),
      ),
    ),
    disk.map((d) => ok('DeleteDisk', P({ DiskId: d.id }))),
    snapshot.map((s) => ok('DeleteSnapshot', P({ SnapshotId: s.id }))),
    fc
      .tuple(snapshot, snapshotName)
      .map(([s, name]) => ok('ModifySnapshotAttribute', P({ SnapshotId: s.id, SnapshotName: name }))),
    fc.constant(ok('DescribeEnsRegions', [])),
    fc.constant(ok('DescribeSnapshots', P({ PageSize: '5' }))),
  );
}

const v1Format = fc.constantFrom(undefined, 'JSON', 'json', 'XML', 'xml');

/** How a request is signed and carried: V1 (GET or POST, query or form body, Format) or V3. */
type How =
  | { scheme: 'v1'; method: 'GET' | 'POST'; inBody: boolean; format: string | undefined; extra: Pairs }
  | { scheme: 'v3'; algorithm: V3Algorithm; inBody: boolean; extra: Pairs };
const v1How: fc.Arbitrary<How> = fc.record({
  scheme: fc.constant('v1' as const),
  method: fc.constantFrom('GET' as const, 'POST' as const),
  inBody: fc.boolean(),
  format: v1Format,
  extra: extras,
});
const v3How: fc.Arbitrary<How> = fc.record({
  scheme: fc.constant('v3' as const),
  algorithm: fc.constantFrom(...V3_ALGORITHMS),
  inBody: fc.boolean(),
  extra: extras,
});
const anyHow = fc.oneof(v1How, v3How);

/** One way to break a correctly signed request, and the codes it must get. */
interface Break {
  name: string;
  /** Before signing. */
  pre?: (parts: Parts) => void;
  /** After signing. */
  post?: (parts: Parts) => void;
  secret?: string;
  /** The method the signature is computed for (V1), when not the request's own. */
  signMethod?: string;
  codes: readonly string[];
}

/** The request for `business`, signed correctly unless `broken` says how not to. */
function build(business: Business, how: How, broken?: Break): Parts {
  const params = [...business.params, ...how.extra];
  if (how.scheme === 'v1') {
    const parts = v1Parts({ ...how, action: business.action, business: params });
    broken?.pre?.(parts);
    signV1(parts, broken?.secret, broken?.signMethod);
    broken?.post?.(parts);
    return parts;
  }
  const parts = v3Parts({
    action: business.action,
    query: how.inBody ? [] : params,
    body: how.inBody ? params : undefined,
    algorithm: how.algorithm,
  });
  broken?.pre?.(parts);
  signV3(parts, { algorithm: how.algorithm, secret: broken?.secret });
  broken?.post?.(parts);
  return parts;
}

const MALFORMED_TIMESTAMPS = [
  '2024-01-01 00:00:00',
  '2024-01-01T00:00:00.000Z',
  '2024-01-01T00:00:00+08:00',
  '2024-02-30T00:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:60:00Z',
  '2024-01-01T00:00:60Z',
  '20240101T000000Z',
  '1704067200',
  'now',
  'Mon, 01 Jan 2024 00:00:00 GMT',
];
/** Well formed, more than 15 minutes off the clock, either way (made when the request is). */
const offClock = fc.oneof(
  fc.integer({ min: 16, max: 60 * 24 * 365 * 30 }).map((minutes) => () => iso(Date.now() - minutes * 60_000)),
  fc.integer({ min: 16, max: 60 * 24 * 365 * 30 }).map((minutes) => () => iso(Date.now() + minutes * 60_000)),
  fc.constantFrom('1970-01-01T00:00:00Z', '2000-02-29T12:00:00Z', '9999-12-31T23:59:59Z').map((t) => () => t),
);
const malformedClock = fc.oneof(
  fc.constantFrom(...MALFORMED_TIMESTAMPS).map((t) => () => t),
  fc.constantFrom(
    () => new Date().toISOString(),
    () => iso(Date.now()).toLowerCase(),
    () => iso(Date.now()) + 'Z',
    () => iso(Date.now()).replace('T', 't'),
  ),
);
const UNKNOWN_VERSIONS = ['2017-11-11', '2014-05-26', 'latest', '__proto__', '20171110', 'constructor'];
const UNKNOWN_ACTIONS = [
  'CreateInstance',
  'createsnapshot',
  '__proto__',
  'constructor',
  'AttachDisk',
  'toString',
];

const flip = (s: string, at: number, alphabet: string) => {
  const i = at % s.length;
  const next = alphabet[(alphabet.indexOf(s[i] as string) + 1) % alphabet.length] as string;
  return s.slice(0, i) + next + s.slice(i + 1);
};
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const setQuery = (parts: Parts, name: string, value: string) => {
  parts.query = setParam(parts.query, name, value);
};
const V1_REQUIRED = [
  'Signature',
  'Action',
  'Version',
  'AccessKeyId',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'Timestamp',
];

const v1Break: fc.Arbitrary<Break> = fc.oneof(
  fc.nat().map((at) => ({
    name: 'signature altered',
    post: (p: Parts) => setQuery(p, 'Signature', flip(get(p.query, 'Signature') as string, at, ALNUM)),
    codes: ['SignatureDoesNotMatch'],
  })),
  fc.constant({
    name: 'signed with another secret',
    secret: 'not-the-secret',
    codes: ['SignatureDoesNotMatch'],
  }),
  fc.constant({
    name: 'signed as GET, sent as POST',
    pre: (p: Parts) => {
      p.method = 'POST';
    },
    signMethod: 'GET',
    codes: ['SignatureDoesNotMatch'],
  }),
  fc.tuple(fc.stringMatching(/^Yy[a-z]{1,6}$/), anyValue).map(([name, value]) => ({
    name: 'parameter added after signing',
    post: (p: Parts) => setQuery(p, name, value),
    codes: ['SignatureDoesNotMatch'],
  })),
  fc.constant({
    name: 'nonce changed after signing',
    post: (p: Parts) => setQuery(p, 'SignatureNonce', randomUUID()),
    codes: ['SignatureDoesNotMatch'],
  }),
  fc.tuple(fc.constantFrom(...V1_REQUIRED), fc.boolean()).map(([name, empty]) => ({
    name: `${name} ${empty ? 'empty' : 'missing'}`,
    post: (p: Parts) => {
      p.query = empty ? setParam(p.query, name, '') : without(p.query, name);
    },
    codes: ['MissingParameter'],
  })),
  fc.stringMatching(/^LTAI[A-Za-z0-9]{8,16}$/).map((id) => ({
    name: 'unknown AccessKeyId',
    pre: (p: Parts) => setQuery(p, 'AccessKeyId', id),
    codes: ['InvalidAccessKeyId.NotFound'],
  })),
  fc.constantFrom('HMAC-SHA256', 'hmac-sha1', 'HMAC-SHA1 ', 'RSA').map((m) => ({
    name: `SignatureMethod ${m}`,
    pre: (p: Parts) => setQuery(p, 'SignatureMethod', m),
    codes: ['InvalidSignatureMethod'],
  })),
  fc.constantFrom('2.0', '1', '1.0 ', 'v1').map((v) => ({
    name: `SignatureVersion ${v}`,
    pre: (p: Parts) => setQuery(p, 'SignatureVersion', v),
    codes: ['InvalidSignatureMethod'],
  })),
  anyValue.map((token) => ({
    name: 'SecurityToken',
    pre: (p: Parts) => setQuery(p, 'SecurityToken', token),
    codes: ['InvalidSecurityToken.Malformed'],
  })),
  offClock.map((at) => ({
    name: 'Timestamp off the clock',
    pre: (p: Parts) => setQuery(p, 'Timestamp', at()),
    codes: ['InvalidTimeStamp.Expired'],
  })),
  fc
    .oneof(
      malformedClock,
      fc.constant(() => '２０２４-01-01T00:00:00Z'),
    )
    .map((at) => ({
      name: 'Timestamp malformed',
      pre: (p: Parts) => setQuery(p, 'Timestamp', at()),
      codes: ['InvalidTimeStamp.Format'],
    })),
  fc.constantFrom(...UNKNOWN_VERSIONS, '2017-11-10 ').map((v) => ({
    name: `Version ${v}`,
    pre: (p: Parts) => setQuery(p, 'Version', v),
    codes: ['InvalidVersion'],
  })),
  fc.constantFrom(...UNKNOWN_ACTIONS, 'CreateSnapshot ').map((a) => ({
    name: `Action ${a}`,
    pre: (p: Parts) => setQuery(p, 'Action', a),
    codes: ['InvalidAction.NotFound'],
  })),
);

const authorization = (p: Parts) => p.headers.get('authorization') as string;
const setAuthorization = (p: Parts, change: (auth: string) => string) =>
  p.headers.set('authorization', change(authorization(p)));

const v3Break: fc.Arbitrary<Break> = fc.oneof(
  fc.nat().map((at) => ({
    name: 'signature altered',
    post: (p: Parts) =>
      setAuthorization(p, (auth) =>
        auth.replace(
          /Signature=(\w+)$/,
          (_, sig: string) => `Signature=${flip(sig, at, '0123456789abcdef')}`,
        ),
      ),
    codes: ['SignatureDoesNotMatch'],
  })),
  fc.constant({
    name: 'signed with another secret',
    secret: 'not-the-secret',
    codes: ['SignatureDoesNotMatch'],
  }),
  fc.constant({
    name: 'body changed after signing',
    post: (p: Parts) => {
      p.rawBody = Buffer.concat([p.rawBody ?? Buffer.alloc(0), Buffer.from('&Yy=1')]);
      p.contentType = FORM;
    },
    codes: ['SignatureDoesNotMatch'],
  }),
  fc.tuple(fc.stringMatching(/^Yy[a-z]{1,6}$/), anyValue).map(([name, value]) => ({
    name: 'query parameter added after signing',
    post: (p: Parts) => {
      p.query = setParam(p.query, name, value);
    },
    codes: ['SignatureDoesNotMatch'],
  })),
  fc.constant({
    name: 'unsigned x-acs header',
    post: (p: Parts) => p.headers.set('x-acs-extra', 'unsigned'),
    codes: ['IncompleteSignature'],
  }),
  fc.constant({
    name: 'host left unsigned',
    post: (p: Parts) =>
      setAuthorization(p, (auth) =>
        auth.replace(
          /SignedHeaders=([^,]*)/,
          (_, list: string) =>
            `SignedHeaders=${list
              .split(';')
              .filter((h) => h !== 'host')
              .join(';')}`,
        ),
      ),
    codes: ['IncompleteSignature'],
  }),
  fc
    .constantFrom(
      'ACS3-HMAC-SHA256',
      'ACS3-HMAC-SHA256 Credential=x',
      'ACS3-HMAC-SHA256 Credential=x,SignedHeaders=host',
      'ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00',
      'ACS3-HMAC-SHA256 Credential=x;SignedHeaders=host;Signature=00',
      'ACS3- Credential=x,SignedHeaders=host,Signature=00,=',
    )
    .map((auth) => ({
      name: `Authorization ${JSON.stringify(auth)}`,
      post: (p: Parts) => p.headers.set('authorization', auth),
      codes: ['IncompleteSignature'],
    })),
  fc
    .constantFrom('ACS3-HMAC-SHA1', 'ACS3-HMAC-MD5', 'ACS3-HMAC-sha256', 'ACS3-RSA-SHA256')
    .map((algorithm) => ({
      name: `algorithm ${algorithm}`,
      post: (p: Parts) => setAuthorization(p, (auth) => auth.replace(/^\S+/, algorithm)),
      codes: ['InvalidSignatureMethod'],
    })),
  fc.constantFrom('x-acs-action', 'x-acs-version', 'x-acs-date', 'x-acs-signature-nonce').map((name) => ({
    name: `${name} missing`,
    pre: (p: Parts) => {
      p.headers.delete(name);
    },
    codes: ['MissingParameter'],
  })),
  fc.stringMatching(/^LTAI[A-Za-z0-9]{8,16}$/).map((id) => ({
    name: 'unknown Credential',
    post: (p: Parts) => setAuthorization(p, (auth) => auth.replace(/Credential=[^,]*/, `Credential=${id}`)),
    codes: ['InvalidAccessKeyId.NotFound'],
  })),
  fc.stringMatching(/^[A-Za-z0-9]{8,32}$/).map((token) => ({
    name: 'x-acs-security-token',
    pre: (p: Parts) => p.headers.set('x-acs-security-token', token),
    codes: ['InvalidSecurityToken.Malformed'],
  })),
  offClock.map((at) => ({
    name: 'x-acs-date off the clock',
    pre: (p: Parts) => p.headers.set('x-acs-date', at()),
    codes: ['InvalidTimeStamp.Expired'],
  })),
  malformedClock.map((at) => ({
    name: 'x-acs-date malformed',
    pre: (p: Parts) => p.headers.set('x-acs-date', at()),
    codes: ['InvalidTimeStamp.Format'],
  })),
  fc.constantFrom(...UNKNOWN_VERSIONS).map((v) => ({
    name: `x-acs-version ${v}`,
    pre: (p: Parts) => p.headers.set('x-acs-version', v),
    codes: ['InvalidVersion'],
  })),
  fc.constantFrom(...UNKNOWN_ACTIONS).map((a) => ({
    name: `x-acs-action ${a}`,
    pre: (p: Parts) => p.headers.set('x-acs-action', a),
    codes: ['InvalidAction.NotFound'],
  })),
);

// --- protocol chaos (unsigned, random) --------------------------------------------------------

const BAD_PERCENT = [
  '%',
  '%2',
  '%zz',
  '%G1',
  '%E0%A4',
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  '%80',
  '%F8%88%80%80%80',
];
/** Bytes Node's parser refuses in a request target (these go over a raw socket). */
const RAW_BAD = ['\xff', '\x80\x81', '\xc3', ' ', '\x00', '\x7f', '\t', '\xe9t\xe9'];
const ENCODERS: Record<string, (s: string) => string> = {
  rfc3986: percentEncode,
  form: (s) => encodeURIComponent(s).replace(/%20/g, '+'),
  loose: encodeURIComponent,
};

/** A V1 envelope with plausible values (a real key, the current time), some dropped or wrong. */
const nearlyV1 = fc
  .record({
    action: usually(fc.constantFrom(...OPERATIONS.map((o) => o.action)), fc.constantFrom(...UNKNOWN_ACTIONS)),
    version: usually(fc.constant(VERSION), fc.constantFrom(...UNKNOWN_VERSIONS)),
    key: usually(fc.constant('known'), fc.constant('LTAIunknown0001')),
    method: usually(fc.constant('HMAC-SHA1'), fc.constantFrom('HMAC-SHA256', 'hmac-sha1')),
    signatureVersion: usually(fc.constant('1.0'), fc.constantFrom('2.0', '1')),
    nonce: usually(fc.uuid(), anyValue),
    timestamp: usually(fc.constant('now'), fc.constantFrom(...MALFORMED_TIMESTAMPS, '2024-01-01T00:00:00Z')),
    signature: usually(fc.base64String({ minLength: 28, maxLength: 28 }), anyValue),
    format: optional(
      usually(fc.constantFrom('JSON', 'json', 'XML', 'xml', 'Xml'), fc.constantFrom('yaml', '', 'JSONP')),
      3,
    ),
    drop: sometimes(fc.subarray(V1_REQUIRED, { minLength: 1, maxLength: 2 }), 20),
    business: fc.uniqueArray(fc.tuple(anyName, anyValue), { maxLength: 4, selector: ([k]) => k }),
  })
  .map((v) => {
    const pairs = P({
      Action: v.action,
      Version: v.version,
      AccessKeyId: v.key,
      SignatureMethod: v.method,
      SignatureVersion: v.signatureVersion,
      SignatureNonce: v.nonce,
      Timestamp: v.timestamp,
      Signature: v.signature,
      Format: v.format,
    }).filter(([k]) => !v.drop?.includes(k));
    return [...pairs, ...v.business.filter(([k]) => !get(pairs, k))];
  });
/** Any parameters at all. */
const bag = fc.uniqueArray(
  fc.oneof(
    fc.tuple(
      fc.constantFrom('Action', 'Version', 'Format', 'AccessKeyId', 'Signature', 'SecurityToken'),
      anyValue,
    ),
    fc.tuple(anyName, anyValue),
  ),
  { maxLength: 8, selector: ([k]) => k },
);

const chaosBody = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('none' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('form' as const), params: bag, charset: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('form, not UTF-8' as const),
      bytes: fc.constantFrom(
        [0xff],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xe2, 0x82],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('form, bad percent' as const),
      token: fc.constantFrom(...BAD_PERCENT),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('typed' as const),
      type: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'text/xml',
        'multipart/form-data; boundary=zz',
        'application/octet-stream',
        'application/x-www-form-urlencoded;;',
        'a/b/c',
        'text',
        '*/*',
        ';',
        '',
        undefined,
      ),
      text: fc.oneof(
        fc.constant('{"Action":"DescribeEnsRegions","Version":"2017-11-10","Format":"XML"}'),
        fc.constant('--zz\r\nContent-Disposition: form-data; name="Format"\r\n\r\nXML\r\n--zz--\r\n'),
        fc.constant('Action=DescribeEnsRegions&Version=2017-11-10&Format=XML'),
        fc.string({ unit: 'binary', maxLength: 64 }).filter(quiet),
      ),
    }),
  },
);

const chaos = fc.record({
  method: fc.oneof(
    { weight: 5, arbitrary: fc.constant('GET') },
    { weight: 5, arbitrary: fc.constant('POST') },
    { weight: 2, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
  ),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constant('/') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '/foo',
        '//',
        '/index.html',
        '/%2F',
        '/ens/',
        '/metrics/x',
        '/Action',
        '/%zz',
        '/%E0%A4',
        '/..%2F',
      ),
    },
  ),
  params: fc.oneof({ weight: 3, arbitrary: nearlyV1 }, { weight: 1, arbitrary: bag }),
  encoding: fc.constantFrom('rfc3986', 'form', 'loose'),
  corrupt: sometimes(fc.record({ at: fc.nat(), token: fc.constantFrom(...BAD_PERCENT, ...RAW_BAD) }), 20),
  duplicate: sometimes(fc.record({ at: fc.nat(), into: fc.constantFrom('query', 'body') }), 25),
  body: chaosBody,
  authorization: sometimes(
    fc.constantFrom(
      'ACS3-HMAC-SHA256 garbage',
      'ACS3-',
      'Basic dXNlcjpwYXNz',
      'ACS3-HMAC-SHA256 Credential=LTAIunknown,SignedHeaders=host,Signature=00',
    ),
    15,
  ),
  acsHeaders: fc.subarray<Header>([
    ['x-acs-action', 'DescribeEnsRegions'],
    ['x-acs-version', VERSION],
    ['x-acs-date', 'now'],
    ['x-acs-signature-nonce', 'n'],
  ]),
});

type Chaos = typeof chaos extends fc.Arbitrary<infer T> ? T : never;

function chaosRequest(c: Chaos): WireRequest {
  const encode = ENCODERS[c.encoding] as (s: string) => string;
  const now = iso(Date.now());
  const real = (pairs: Pairs): Pairs =>
    pairs.map(([k, v]) => [
      k,
      k === 'AccessKeyId' && v === 'known' ? server.accessKeyId : k === 'Timestamp' && v === 'now' ? now : v,
    ]);
  const query = real(c.params);
  let bodyParams = c.body.kind === 'form' ? real(c.body.params) : undefined;
  if (c.duplicate && query.length > 0) {
    const [name] = query[c.duplicate.at % query.length] as [string, string];
    if (c.duplicate.into === 'query') query.push([name, 'again']);
    else bodyParams = [...(bodyParams ?? []), [name, 'again']];
  }
  let qs = form(query, encode);
  if (c.corrupt) {
    const at = c.corrupt.at % (qs.length + 1);
    qs = qs.slice(0, at) + c.corrupt.token + qs.slice(at);
  }
  const headers: Header[] = c.acsHeaders.map(([n, v]) => [n, n === 'x-acs-date' ? now : v]);
  if (c.authorization) headers.push(['Authorization', c.authorization]);
  let body: Buffer | undefined;
  const b = c.body;
  if (bodyParams) {
    body = Buffer.from(form(bodyParams, encode));
    headers.push(['Content-Type', b.kind === 'form' && b.charset ? `${FORM}; charset=UTF-8` : FORM]);
  } else if (b.kind === 'form, not UTF-8') {
    body = Buffer.concat([Buffer.from('Action=DescribeEnsRegions&Zz='), Buffer.from(b.bytes)]);
    headers.push(['Content-Type', FORM]);
  } else if (b.kind === 'form, bad percent') {
    body = Buffer.from(`Zz=a${b.token}b&Action=DescribeEnsRegions`);
    headers.push(['Content-Type', FORM]);
  } else if (b.kind === 'typed') {
    body = Buffer.from(b.text);
    if (b.type !== undefined) headers.push(['Content-Type', b.type]);
  }
  const bodiless = c.method === 'GET' || c.method === 'HEAD';
  return {
    label: `chaos ${c.method} ${c.path} body ${bodiless ? 'none' : b.kind}${c.corrupt ? ', corrupt' : ''}${c.duplicate ? ', duplicate' : ''}`,
    method: c.method,
    target: c.path + (qs ? `?${qs}` : ''),
    headers,
    body: bodiless || !body?.length ? undefined : body,
    raw: c.method === 'HEAD',
  };
}

// --- HTTP the parser refuses (raw sockets) ----------------------------------------------------

const encodingError = { codes: ['InvalidParameter.Encoding'], status: 400, format: 'JSON' as const };

function rawBytes(
  label: string,
  head: string,
  body: Buffer | string = '',
  expect: Expect = encodingError,
): WireRequest {
  const tail = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return {
    label,
    method: 'RAW',
    target: '',
    headers: [],
    bytes: Buffer.concat([Buffer.from(head, 'latin1'), tail]),
    expect,
  };
}

const host = () => `Host: ${server.hostPort}\r\n`;
const POST = () => `POST /?Format=JSON HTTP/1.1\r\n${host()}`;
const GET = () => `GET /?Format=JSON HTTP/1.1\r\n${host()}`;

/** Framing and syntax Node's HTTP parser refuses, with random fill (made when sent). */
const brokenHttp: fc.Arbitrary<() => WireRequest> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('abc', '-1', '1.5', ' 5x', '0x10', '99999999999999999999', '3, 4', '+3'),
      fc.string({ maxLength: 8 }),
    )
    .map(
      ([length, body]) =>
        () =>
          rawBytes(
            `Content-Length ${length}`,
            `${POST()}Content-Length: ${length}\r\nConnection: close\r\n\r\n`,
            body,
          ),
    ),
  fc
    .tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 }))
    .filter(([a, b]) => a !== b)
    .map(
      ([a, b]) =>
        () =>
          rawBytes(
            `Content-Length ${a} and ${b}`,
            `${POST()}Content-Length: ${a}\r\nContent-Length: ${b}\r\nConnection: close\r\n\r\n`,
            'x'.repeat(Math.max(a, b)),
          ),
    ),
  fc
    .integer({ min: 4, max: 4096 })
    .map(
      (extra) => () =>
        rawBytes(
          `Content-Length ${extra} beyond the body`,
          `${POST()}Content-Type: ${FORM}\r\nContent-Length: ${3 + extra}\r\nConnection: close\r\n\r\n`,
          'a=b',
        ),
    ),
  fc.constant(() =>
    rawBytes(
      'Transfer-Encoding and Content-Length',
      `${POST()}Transfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`,
      '0\r\n\r\n',
    ),
  ),
  fc
    .constantFrom('zz', '-1', '3 ;', '1'.repeat(20))
    .map(
      (chunk) => () =>
        rawBytes(
          `chunk size ${chunk}`,
          `${POST()}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
          `${chunk}\r\nabc\r\n0\r\n\r\n`,
        ),
    ),
  fc
    .constantFrom('gzip', 'chunked, gzip', 'identity', 'chunkedx')
    .map(
      (te) => () =>
        rawBytes(
          `Transfer-Encoding ${te}`,
          `${POST()}Transfer-Encoding: ${te}\r\nConnection: close\r\n\r\n`,
          'abc',
        ),
    ),
  fc
    .constantFrom(
      'Bad Header: v',
      'Bad(Header): v',
      'Bäd: v',
      'X-A\x00: v',
      ': v',
      'NoColonHere',
      ' folded: v',
      'X-A: a\x00b',
      'X-A: a\rb',
    )
    .map(
      (line) => () =>
        rawBytes(`header line ${JSON.stringify(line)}`, `${GET()}${line}\r\nConnection: close\r\n\r\n`),
    ),
  fc
    .integer({ min: 17, max: 48 })
    .map(
      (kib) => () =>
        rawBytes(
          `${kib} KiB of headers`,
          `${GET()}X-Big: ${'a'.repeat(kib * 1024)}\r\nConnection: close\r\n\r\n`,
        ),
    ),
  fc
    .integer({ min: 17, max: 64 })
    .map(
      (kib) => () =>
        rawBytes(
          `${kib} KiB request line`,
          `GET /?Format=JSON&Zz=${'q'.repeat(kib * 1024)} HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
        ),
    ),
  fc.tuple(fc.constantFrom(...RAW_BAD), fc.nat()).map(([raw, at]) => () => {
    const query = 'Format=JSON&Action=DescribeEnsRegions';
    const i = at % (query.length + 1);
    return rawBytes(
      `raw ${JSON.stringify(raw)} in the target`,
      `GET /?${query.slice(0, i)}${raw}${query.slice(i)} HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
    );
  }),
  fc
    .constantFrom('HTTP/1.2', 'HTTP/x', 'HTTP/1.1 extra', 'HTTPS/1.1', 'http/1.1')
    .map(
      (version) => () =>
        rawBytes(`version ${version}`, `GET /?Format=JSON ${version}\r\n${host()}Connection: close\r\n\r\n`),
    ),
  fc
    .constantFrom('get', 'G ET', 'FOO', 'GET\t', '\x00GET')
    .map(
      (method) => () =>
        rawBytes(
          `method ${JSON.stringify(method)}`,
          `${method} /?Format=JSON HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
        ),
    ),
  fc.constant(() =>
    rawBytes('CONNECT', `CONNECT ${server.hostPort} HTTP/1.1\r\n${host()}\r\n`, '', {
      codes: ['UnsupportedHTTPMethod'],
      status: 400,
      format: 'JSON',
    }),
  ),
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map(
      (bytes) => () =>
        rawBytes('garbage', '\x00\x01', Buffer.concat([Buffer.from(bytes), Buffer.from('\r\n\r\n')])),
    ),
  fc.constant(() =>
    rawBytes('bare LF line ends', `GET /?Format=JSON HTTP/1.1\n${host().trim()}\nConnection: close\n\n`),
  ),
);

/** Odd but parsable HTTP (headers twice, no Host, Expect, methods): answered by the dispatcher. */
const oddHttp: fc.Arbitrary<WireRequest> = fc.oneof(
  fc
    .constantFrom('', '?Format=JSON', '?Format=XML', '?Format=json&Action=DescribeEnsRegions')
    .map((query): WireRequest => ({
      label: 'no Host',
      method: 'GET',
      target: `/${query}`,
      headers: [],
      noHost: true,
    })),
  fc.constantFrom('evil.example', '127.0.0.1:1', '').map((second): WireRequest => ({
    label: 'Host twice',
    method: 'GET',
    target: '/?Format=JSON',
    headers: [['Host', second]],
    raw: true,
  })),
  fc.constantFrom('text/plain', FORM).map((second): WireRequest => ({
    label: 'Content-Type twice',
    method: 'POST',
    target: '/?Action=DescribeEnsRegions',
    headers: [
      ['Content-Type', FORM],
      ['Content-Type', second],
    ],
    body: Buffer.from('Format=JSON'),
    raw: true,
  })),
  fc.constant<WireRequest>({
    label: 'Authorization twice',
    method: 'GET',
    target: '/',
    headers: [
      ['Authorization', 'ACS3-HMAC-SHA256 garbage'],
      ['Authorization', 'Basic x'],
    ],
    raw: true,
  }),
  fc.constant<WireRequest>({
    label: 'x-acs-action twice',
    method: 'POST',
    target: '/',
    headers: [
      ['Authorization', 'ACS3-HMAC-SHA256 Credential=x,SignedHeaders=host,Signature=00'],
      ['x-acs-action', 'DescribeEnsRegions'],
      ['x-acs-action', 'CreateDisk'],
      ['x-acs-version', VERSION],
    ],
    raw: true,
  }),
  fc.constantFrom('100-continue', '200-ok', 'bogus').map((expectation): WireRequest => ({
    label: `Expect ${expectation}`,
    method: 'POST',
    target: '/?Format=JSON',
    headers: [
      ['Expect', expectation],
      ['Content-Type', FORM],
    ],
    body: Buffer.from('Action=DescribeEnsRegions'),
    raw: true,
  })),
  fc.constantFrom('HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE').map((method): WireRequest => ({
    label: `${method} over a raw socket`,
    method,
    target: '/?Format=XML',
    headers: [],
    raw: true,
    expect: { codes: ['UnsupportedHTTPMethod'], status: 400 },
  })),
);

// --- body sizes around the limit --------------------------------------------------------------

const sizes = fc.record({
  length: fc.oneof(
    fc.constantFrom(LIMIT - 1, LIMIT, LIMIT + 1, 2 * LIMIT),
    fc.integer({ min: LIMIT - 4096, max: LIMIT + 4096 }),
  ),
  shape: fc.constantFrom('unsigned', 'v1', 'v3'),
  type: fc.constantFrom(FORM, 'application/json', 'text/plain', undefined),
  format: v1Format,
});

type Sizes = typeof sizes extends fc.Arbitrary<infer T> ? T : never;

/** A request with a `length`-byte body: refused for its size over the limit, for its content within. */
function sizedRequest(s: Sizes): WireRequest {
  const over = s.length > LIMIT;
  const tooLarge = { codes: ['InvalidParameter.Body'], status: 413 };
  if (s.shape === 'unsigned') {
    return {
      label: `unsigned ${s.length}-byte body`,
      method: 'POST',
      target: target(P({ Format: s.format })),
      headers: s.type === undefined ? [] : [['Content-Type', s.type]],
      body: Buffer.from('Zz=' + 'z'.repeat(s.length - 3)),
      expect: over ? tooLarge : { codes: ['MissingParameter'] },
    };
  }
  // Signed, the body filled by a Description far over its 256 characters: within the limit it
  // passes the signature and fails validation; over it, nothing is even read.
  const disk = seeded.disks[0] as { id: string; region: string };
  const business = P({ DiskId: disk.id, EnsRegionId: disk.region, Description: '' });
  const fill = (pairs: Pairs) => setParam(pairs, 'Description', 'd'.repeat(s.length - form(pairs).length));
  const expect = over ? tooLarge : { codes: invalid('Description') };
  if (s.shape === 'v1') {
    const parts = v1Parts({
      action: 'CreateSnapshot',
      business: fill(business),
      method: 'POST',
      inBody: true,
      format: s.format,
    });
    signV1(parts);
    return wire(parts, `V1 ${s.length}-byte body`, expect);
  }
  const parts = v3Parts({ action: 'CreateSnapshot', query: [], body: fill(business) });
  signV3(parts);
  return wire(parts, `V3 ${s.length}-byte body`, expect);
}

// --- the test ---------------------------------------------------------------------------------

/** fast-check with the fixed seed; a hung server or a long shrink cannot run for ever. */
async function holds<T>(arb: fc.Arbitrary<T>, numRuns: number, predicate: (value: T) => Promise<void>) {
  await fc.assert(fc.asyncProperty(arb, predicate), {
    seed: SEED,
    numRuns,
    includeErrorInReport: true,
    plugins: [fc.interruptAfterTimeLimit(120_000, { failOnInterrupt: true })],
  });
}

describe('bad input', () => {
  let initial: Picture;

  before(async () => {
    server = await startEnsnap();
    initial = await seed();
  });
  after(() => server.stop());

  it('the seed left something to damage', () => {
    const counts = Object.fromEntries(TABLES.map((t) => [t, initial[t].length]));
    assert.deepEqual(counts, {
      accounts: 1,
      access_keys: 1,
      disks: 3,
      disk_tags: 2,
      snapshots: 2,
      orders: 3,
      jobs: 5,
    });
  });

  describe('deterministic cases', () => {
    const ask = async (req: WireRequest, expect?: Expect) =>
      check(req, await send(req), { ...req.expect, ...expect }) as Envelope;
    const GET_ = (query: Pairs, label: string): WireRequest => ({
      label,
      method: 'GET',
      target: target(query),
      headers: [],
    });
    const signedV1 = (spec: V1Spec, change?: (parts: Parts) => void) => {
      const parts = v1Parts(spec);
      change?.(parts);
      signV1(parts);
      return parts;
    };

    it('random and missing parameters', async () => {
      let e = await ask(GET_([], 'nothing at all'), { codes: ['MissingParameter'], format: 'XML' });
      assert.equal(
        e.Message,
        'The input parameter Action that is mandatory for processing this request is not supplied.',
      );
      e = await ask(GET_(P({ Format: 'JSON', Action: 'DescribeEnsRegions' }), 'no Version'), {
        codes: ['MissingParameter'],
        format: 'JSON',
      });
      assert.match(e.Message, /parameter Version that/);
      await ask(GET_(P({ Format: 'yaml' }), 'Format yaml'), {
        codes: ['InvalidParameter.Format'],
        format: 'JSON',
      });
      await ask(GET_(P({ Zz: '1', Format: 'xml' }), 'unknown parameter'), {
        codes: ['MissingParameter'],
        format: 'XML',
      });
      const noSignature = v1Parts({ action: 'DescribeEnsRegions', business: [], format: 'JSON' });
      e = await ask(wire(noSignature, 'no Signature'), { codes: ['MissingParameter'] });
      assert.match(e.Message, /parameter Signature that/);
    });

    it('invalid UTF-8 and invalid percent-encoding, in the query and in the body', async () => {
      const query = (qs: string, label: string): WireRequest => ({
        label,
        method: 'GET',
        target: `/?${qs}`,
        headers: [],
      });
      for (const bad_ of ['%FF', '%E0%A4', '%ED%A0%80', '%C0%AF', '%', '%zz', '%2'])
        await ask(query(`Format=XML&Zz=${bad_}`, `query ${bad_}`), encodingError);
      await ask(query('Format=XML&Zz=\xff', 'raw 0xFF in the query'), encodingError);
      await ask(query('Format=XML&%E0=1', 'bad percent in a name'), encodingError);
      await ask(query('Format=XML&=1', 'a parameter without a name'), encodingError);
      const post = (body: Buffer, label: string): WireRequest => ({
        label,
        method: 'POST',
        target: '/?Format=XML',
        headers: [['Content-Type', FORM]],
        body,
      });
      await ask(post(Buffer.from([0x5a, 0x7a, 0x3d, 0xc3, 0x28]), 'body not UTF-8'), encodingError);
      await ask(post(Buffer.from('Zz=%E2%82'), 'body with bad percent-encoding'), encodingError);
    });

    it('duplicated keys: query twice, query and body', async () => {
      await ask(
        GET_(
          [
            ['Format', 'XML'],
            ['Zz', '1'],
            ['Zz', '2'],
          ],
          'query twice',
        ),
        {
          codes: ['InvalidParameter.Zz'],
          format: 'JSON',
        },
      );
      await ask(
        {
          label: 'query and body',
          method: 'POST',
          target: '/?Action=DescribeEnsRegions&Format=XML',
          headers: [['Content-Type', FORM]],
          body: Buffer.from('Action=CreateDisk'),
        },
        { codes: ['InvalidParameter.Action'], format: 'JSON' },
      );
      // Signed, then a parameter given twice: refused before the signature is looked at.
      const parts = signedV1({ action: 'DescribeEnsRegions', business: [], format: 'XML' });
      parts.query.push(['Version', VERSION]);
      await ask(wire(parts, 'signed, Version twice'), {
        codes: ['InvalidParameter.Version'],
        format: 'JSON',
      });
    });

    it('broken V1 signatures', async () => {
      const parts = v1Parts({
        action: 'CreateDisk',
        business: P({
          EnsRegionId: REGION,
          Category: 'cloud_ssd',
          InstanceChargeType: 'PostPaid',
          Size: '20',
        }),
        format: 'JSON',
      });
      const stringToSign = signV1(parts, 'wrong-secret');
      const e = await ask(wire(parts, 'wrong secret'), { codes: ['SignatureDoesNotMatch'], status: 400 });
      assert.equal(
        e.Message,
        `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
      );
      const other = v1Parts({ action: 'DescribeEnsRegions', business: [], method: 'POST', format: 'XML' });
      signV1(other, undefined, 'GET');
      await ask(wire(other, 'signed as GET, sent as POST'), {
        codes: ['SignatureDoesNotMatch'],
        format: 'XML',
      });
      const unknown = signedV1({ action: 'DescribeEnsRegions', business: [], format: 'JSON' }, (p) =>
        setQuery(p, 'AccessKeyId', 'LTAIunknownKey0001'),
      );
      await ask(wire(unknown, 'unknown key'), { codes: ['InvalidAccessKeyId.NotFound'], status: 404 });
    });

    it('broken V3 signatures', async () => {
      const parts = v3Parts({ action: 'DescribeEnsRegions', query: [] });
      signV3(parts, { secret: 'wrong-secret' });
      await ask(wire(parts, 'V3 wrong secret'), { codes: ['SignatureDoesNotMatch'], format: 'JSON' });
      const [diskA, , diskC] = seeded.disks as { id: string }[];
      const swapped = v3Parts({
        action: 'CreateSnapshot',
        query: [],
        body: P({ DiskId: diskA?.id, EnsRegionId: REGION }),
      });
      signV3(swapped);
      swapped.rawBody = Buffer.from(form(P({ DiskId: diskC?.id, EnsRegionId: REGION })));
      await ask(wire(swapped, 'V3 body swapped after signing'), { codes: ['SignatureDoesNotMatch'] });
      await ask(
        {
          label: 'V3 garbage',
          method: 'POST',
          target: '/?Format=XML',
          headers: [['Authorization', 'ACS3-HMAC-SHA256 garbage']],
        },
        { codes: ['IncompleteSignature'], format: 'XML' },
      );
    });

    it('replayed signatures (V1 and V3)', async () => {
      const v1 = wire(signedV1({ action: 'DescribeEnsRegions', business: [], format: 'JSON' }), 'V1 replay');
      const first = await send(v1);
      assert.equal(first.status, 200, describeExchange(v1, first));
      await ask(v1, { codes: ['SignatureNonceUsed'], status: 400 });
      const parts = v3Parts({ action: 'DescribeEnsRegions', query: [] });
      signV3(parts);
      const v3 = wire(parts, 'V3 replay');
      const first3 = await send(v3);
      assert.equal(first3.status, 200, describeExchange(v3, first3));
      await ask(v3, { codes: ['SignatureNonceUsed'] });
    });

    it('expired, future and malformed timestamps', async () => {
      const cases: [string, string][] = [
        [iso(Date.now() - 16 * 60_000), 'InvalidTimeStamp.Expired'],
        [iso(Date.now() + 16 * 60_000), 'InvalidTimeStamp.Expired'],
        ['2024-01-01T00:00:00.000Z', 'InvalidTimeStamp.Format'],
        ['2024-02-30T00:00:00Z', 'InvalidTimeStamp.Format'],
      ];
      for (const [timestamp, code] of cases) {
        const parts = signedV1({ action: 'DescribeEnsRegions', business: [], format: 'JSON' }, (p) =>
          setQuery(p, 'Timestamp', timestamp),
        );
        await ask(wire(parts, `Timestamp ${timestamp}`), { codes: [code], status: 400 });
      }
    });

    it('wrong methods; HEAD has no body', async () => {
      for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const e = await ask(
          { label: method, method, target: '/?Format=XML', headers: [] },
          { codes: ['UnsupportedHTTPMethod'], format: 'JSON' },
        );
        assert.equal(e.Message, `Specified HTTP method ${method} is not supported.`);
      }
      for (const target_ of ['/', '/?Format=XML&Action=DescribeEnsRegions', '/?Zz=\x7f']) {
        // The last one Node's parser refuses: the answer to it must have no body either.
        const head: WireRequest = {
          label: `HEAD ${target_}`,
          method: 'HEAD',
          target: target_,
          headers: [],
          raw: true,
        };
        const answer = await send(head);
        check(head, answer, { status: 400 });
        assert.equal(answer.body.length, 0);
      }
    });

    it('wrong content types with bodies', async () => {
      for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=zz', undefined]) {
        await ask(
          {
            label: `content-type ${type}`,
            method: 'POST',
            target: '/',
            headers: type === undefined ? [] : [['Content-Type', type]],
            body: Buffer.from('Action=DescribeEnsRegions&Format=JSON'),
          },
          // Not a form: the body's Format does not count, and V1's default is XML.
          { codes: ['MissingParameter'], format: 'XML' },
        );
      }
      await ask(
        {
          label: 'empty content-type',
          method: 'POST',
          target: '/?Format=XML',
          headers: [['Content-Type', '']],
          body: Buffer.from('x'),
        },
        { codes: ['InvalidParameter.Encoding'], format: 'XML' },
      );
    });

    it('bodies at and over the limit', async () => {
      await ask(sizedRequest({ length: LIMIT + 1, shape: 'unsigned', type: FORM, format: 'JSON' }), {
        format: 'JSON',
      });
      await ask(
        sizedRequest({ length: LIMIT + 1, shape: 'unsigned', type: 'text/plain', format: undefined }),
        {
          format: 'XML',
        },
      );
      await ask(sizedRequest({ length: 2 * LIMIT, shape: 'v3', type: FORM, format: undefined }), {
        format: 'JSON',
      });
      await ask(sizedRequest({ length: LIMIT, shape: 'v1', type: FORM, format: 'XML' }), { format: 'XML' });
    });

    it('unknown paths, Actions and Versions', async () => {
      for (const path_ of ['/foo?Format=XML', '/index.html', '//', '/%zz', '/%E0%A4?Format=XML']) {
        const code = path_.startsWith('/%') ? 'InvalidParameter.Encoding' : 'InvalidAction.NotFound';
        await ask(
          { label: `path ${path_}`, method: 'GET', target: path_, headers: [] },
          { codes: [code], format: 'JSON' },
        );
      }
      const action = signedV1({ action: 'CreateInstance', business: [] });
      await ask(wire(action, 'unknown Action'), {
        codes: ['InvalidAction.NotFound'],
        status: 404,
        format: 'XML',
      });
      const version = signedV1({
        action: 'DescribeEnsRegions',
        business: [],
        version: '2014-05-26',
        format: 'JSON',
      });
      await ask(wire(version, 'unknown Version'), { codes: ['InvalidVersion'], status: 400 });
    });

    it('valid signatures, invalid business parameters', async () => {
      const [diskA, diskB] = seeded.disks as { id: string }[];
      const [snapA] = seeded.snapshots as { id: string }[];
      const cases: [string, Pairs, string][] = [
        [
          'CreateSnapshot',
          P({ DiskId: diskA?.id, EnsRegionId: REGION, SnapshotName: 'a' }),
          'InvalidParameter.SnapshotName',
        ],
        ['CreateSnapshot', P({ DiskId: diskB?.id, EnsRegionId: REGION }), 'InvalidParameter.EnsRegionId'],
        [
          'CreateDisk',
          P({ EnsRegionId: REGION, Category: 'cloud_ssd', InstanceChargeType: 'PostPaid', Size: '19' }),
          'InvalidParameter.Size',
        ],
        ['DeleteDisk', P({ DiskId: 'd-doesnotexist000000000000000' }), 'DiskIdNotFound'],
        ['DeleteSnapshot', P({ SnapshotId: snapA?.id.toUpperCase() }), 'INSTANCE_ID_NOT_FOUND'],
        [
          'ModifySnapshotAttribute',
          P({ SnapshotId: snapA?.id, SnapshotName: 'auto-x' }),
          'InvalidParameter.SnapshotName',
        ],
        ['DescribeDisks', P({ PageSize: '51' }), 'InvalidParameter.PageSize'],
        ['DescribeDisks', P({ OrderByParams: '{"__proto__":"asc"}' }), 'InvalidParameter.OrderByParams'],
      ];
      for (const [action, business, code] of cases) {
        const v1 = signedV1({ action, business, method: 'POST', inBody: true, format: 'XML' });
        await ask(wire(v1, `${action} → ${code}`), { codes: [code], status: 400, format: 'XML' });
        const v3 = v3Parts({ action, query: business });
        signV3(v3);
        await ask(wire(v3, `V3 ${action} → ${code}`), { codes: [code], status: 400, format: 'JSON' });
      }
    });

    it('HTTP the parser refuses, and odd HTTP', async () => {
      await ask(
        rawBytes(
          'Content-Length abc',
          `POST /?Format=XML HTTP/1.1\r\n${host()}Content-Length: abc\r\nConnection: close\r\n\r\n`,
        ),
      );
      await ask(
        rawBytes(
          'Content-Length twice',
          `${POST()}Content-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`,
          'abcd',
        ),
      );
      await ask(
        rawBytes('headers over 16 KiB', `${GET()}X-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`),
      );
      await ask(rawBytes('lower-case method', `get / HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`));
      await ask(
        rawBytes('CONNECT', `CONNECT ${server.hostPort} HTTP/1.1\r\n${host()}\r\n`, '', {
          codes: ['UnsupportedHTTPMethod'],
          format: 'JSON',
        }),
      );
      const e = await ask(
        { label: 'no Host', method: 'GET', target: '/', headers: [], noHost: true },
        { codes: ['MissingParameter'], format: 'XML' },
      );
      assert.equal(e.HostId, 'ensnap');
      await ask(
        {
          label: 'Expect 200-ok',
          method: 'POST',
          target: '/?Format=JSON',
          headers: [['Expect', '200-ok']],
          raw: true,
        },
        { codes: ['MissingParameter'] },
      );
    });
  });

  describe('properties', () => {
    it('random, missing, misencoded and duplicated parameters; odd methods, paths and bodies', async () => {
      await holds(chaos, 150, async (c) => {
        const req = chaosRequest(c);
        const ans = await send(req, 'chaos');
        const envelope = check(req, ans);
        // Nothing unsigned gets as far as the resources.
        if (envelope)
          assert.doesNotMatch(
            envelope.Code,
            /^(DiskIdNotFound|SnapshotIdNotFound|INSTANCE_ID_NOT_FOUND|Incorrect)/,
            describeExchange(req, ans),
          );
      });
    });

    it('correctly signed V1 requests, broken one way each', async () => {
      await holds(fc.tuple(validBusiness(), v1How, v1Break), 70, async ([business, how, broken]) => {
        const req = wire(build(business, how, broken), `V1 ${business.action}: ${broken.name}`, {
          codes: broken.codes,
        });
        check(req, await send(req, 'V1 broken'));
      });
    });

    it('correctly signed V3 requests, broken one way each', async () => {
      await holds(fc.tuple(validBusiness(), v3How, v3Break), 70, async ([business, how, broken]) => {
        const req = wire(build(business, how, broken), `V3 ${business.action}: ${broken.name}`, {
          codes: broken.codes,
        });
        check(req, await send(req, 'V3 broken'));
      });
    });

    it('valid signatures, invalid business parameters (validation after authentication)', async () => {
      await holds(fc.tuple(poisonedBusiness(), anyHow), 100, async ([business, how]) => {
        const req = wire(build(business, how), `${how.scheme} ${business.action}`, { codes: business.codes });
        check(req, await send(req, 'invalid business'));
      });
    });

    it('replays: the same signed request twice, or its nonce again', async () => {
      await holds(fc.tuple(poisonedBusiness(), anyHow, fc.boolean()), 25, async ([business, how, resign]) => {
        const parts = build(business, how);
        const req = wire(parts, `${how.scheme} ${business.action}`, { codes: business.codes });
        check(req, await send(req, 'replay'));
        let again = req;
        if (resign) {
          // The same nonce with another timestamp and a fresh signature: still a replay.
          if (how.scheme === 'v1') {
            setQuery(parts, 'Timestamp', iso(Date.now() - 60_000));
            signV1(parts);
          } else {
            parts.headers.set('x-acs-date', iso(Date.now() - 60_000));
            signV3(parts, { algorithm: how.algorithm });
          }
          again = wire(parts, `${req.label}, re-signed`);
        }
        check(again, await send(again, 'replay'), { codes: ['SignatureNonceUsed'], status: 400 });
      });
    });

    it('HTTP the parser refuses: framing, headers, request lines, bytes', async () => {
      await holds(brokenHttp, 45, async (make) => {
        const req = make();
        check(req, await send(req, 'unparsable HTTP'));
      });
    });

    it('odd but parsable HTTP: headers twice, no Host, Expect, methods over raw sockets', async () => {
      await holds(oddHttp, 25, async (req) => {
        check(req, await send(req, 'odd HTTP'));
      });
    });

    it('bodies near and over the 1 MiB limit', async () => {
      await holds(sizes, 14, async (s) => {
        const req = sizedRequest(s);
        check(req, await send(req, 'body size'));
      });
    });
  });

  it('the database is unchanged', async (t) => {
    const now = await until('jobs to settle', jobsSettled);
    for (const table of TABLES) assert.deepEqual(now[table], initial[table], `table ${table} changed`);
    t.diagnostic(`${sent} requests: ${[...sentBy].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  });
});
