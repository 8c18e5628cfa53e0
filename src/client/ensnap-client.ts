// A client of a running ensnap: the data plane (ensnap's API version 2026-11-01) and any action of
// any version (ENS, ensnap's accounts, RAM), signed with V3 (ACS3-HMAC-SHA256) by the project's own
// signer, over node:http with a keep-alive agent. No retries: an error surfaces with the catalog's
// code and message.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { canonicalQuery } from '../protocol/percent-encoding.js';
import { hashHex, v3Authorization } from '../protocol/signature-v3.js';

export const DATA_VERSION = '2026-11-01';
export const ENS_VERSION = '2017-11-10';
export const RAM_VERSION = '2015-05-01';
/** The largest read or write the server takes in one request. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export interface EnsnapClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Requests in flight at once for one large read or write (default 4). */
  concurrency?: number;
  /** Connections kept open to the server (default 16). */
  maxSockets?: number;
}

export interface Extent {
  offset: number;
  length: number;
}

export interface Extents {
  /** The disk's or snapshot's full size in bytes. */
  sizeBytes: number;
  /** The ranges that may hold data, ascending; everything else reads as zeros. */
  extents: Extent[];
  /** Disks only: a restore is still copying the disk's snapshot in (reads are served meanwhile). */
  restoring?: boolean;
  /** Disks only: how far that copy is, 0..100. */
  restoreProgress?: number;
}

export interface VerifyResult {
  chunks: number;
  bytes: number;
  snapshots: number;
  problems: { what: string; snapshotIds: string[] }[];
}

/** An error answer of the server (its catalog code and message), or a transport failure. */
export class EnsnapError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** HTTP status; 0 when no answer came. */
    readonly status: number,
    readonly requestId = '',
  ) {
    super(message);
    this.name = 'EnsnapError';
  }
}

type Params = Record<string, string | number | boolean | undefined>;

const FORM = 'application/x-www-form-urlencoded';

/** A request body and its Content-Type. */
interface Body {
  type: string;
  bytes: Buffer;
}

/** The parameters that have a value, as strings. */
function toStrings(params: Params): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out.set(k, String(v));
  return out;
}

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

export class EnsnapClient {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly concurrency: number;

  constructor(private readonly options: EnsnapClientOptions) {
    this.url = new URL(options.endpoint);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new TypeError(`endpoint must be an http:// or https:// URL, not "${options.endpoint}"`);
    this.transport = this.url.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Any action of any version (ENS by default): parameters in a form body (no length limit of a
   * URL, e.g. for a policy document), the JSON answer's fields.
   */
  async call(action: string, params: Params = {}, version = ENS_VERSION): Promise<Record<string, unknown>> {
    const form = Buffer.from(canonicalQuery(toStrings(params)));
    const answer = await this.request(action, version, {}, { type: FORM, bytes: form });
    return this.json(answer);
  }

  /** Writes `data` at `offset`; durable when it resolves. Larger than 16 MiB: split, a few at once. */
  async writeDisk(diskId: string, offset: number, data: Uint8Array): Promise<void> {
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.pieces(buffer.length, async (at, length) => {
      this.json(
        await this.request(
          'WriteDiskData',
          DATA_VERSION,
          { DiskId: diskId, Offset: offset + at },
          { type: 'application/octet-stream', bytes: buffer.subarray(at, at + length) },
        ),
      );
    });
  }

  async readDisk(diskId: string, offset: number, length: number): Promise<Buffer> {
    return this.read('ReadDiskData', { DiskId: diskId }, offset, length);
  }

  async readSnapshot(snapshotId: string, offset: number, length: number): Promise<Buffer> {
    return this.read('ReadSnapshotData', { SnapshotId: snapshotId }, offset, length);
  }

  async diskExtents(diskId: string): Promise<Extents> {
    return this.extents('DescribeDiskExtents', { DiskId: diskId });
  }

  async snapshotExtents(snapshotId: string): Promise<Extents> {
    return this.extents('DescribeSnapshotExtents', { SnapshotId: snapshotId });
  }

  /** The engine's integrity check of the whole store (the operator only). */
  async verify(): Promise<VerifyResult> {
    const r = await this.call('VerifyStorage', {}, DATA_VERSION);
    const problems = (r.Problems ?? []) as { What: string; SnapshotIds?: string[] }[];
    return {
      chunks: Number(r.Chunks),
      bytes: Number(r.Bytes),
      snapshots: Number(r.Snapshots),
      problems: problems.map((p) => ({ what: p.What, snapshotIds: p.SnapshotIds ?? [] })),
    };
  }

  // --- internals ---------------------------------------------------------------------------

  private async read(action: string, id: Params, offset: number, length: number): Promise<Buffer> {
    const piece = async (at: number, n: number): Promise<Buffer> => {
      const answer = await this.request(action, DATA_VERSION, { ...id, Offset: offset + at, Length: n });
      if (answer.status !== 200 || !answer.contentType.startsWith('application/octet-stream'))
        this.json(answer); // throws the error it carries
      if (answer.body.length !== n)
        throw new EnsnapError('ShortRead', `asked for ${n} bytes, got ${answer.body.length}`, answer.status);
      return answer.body;
    };
    // One request: its body is the answer (no second buffer and copy per piece of an export).
    if (length <= MAX_REQUEST_BYTES) return piece(0, length);
    const out = Buffer.allocUnsafe(length);
    await this.pieces(length, async (at, n) => {
      (await piece(at, n)).copy(out, at);
    });
    return out;
  }

  private async extents(action: string, id: Params): Promise<Extents> {
    const extents: Extent[] = [];
    let sizeBytes = 0;
    let restoring: boolean | undefined;
    let restoreProgress: number | undefined;
    let from: number | undefined = 0;
    while (from !== undefined) {
      const r = await this.call(action, { ...id, Offset: from }, DATA_VERSION);
      sizeBytes = Number(r.SizeBytes);
      if (r.Restoring !== undefined) restoring = r.Restoring === true;
      if (r.RestoreProgress !== undefined) restoreProgress = Number(r.RestoreProgress);
      for (const e of (r.Extents ?? []) as { Offset: number; Length: number }[])
        extents.push({ offset: Number(e.Offset), length: Number(e.Length) });
      from = r.NextOffset === undefined ? undefined : Number(r.NextOffset);
    }
    return restoring === undefined
      ? { sizeBytes, extents }
      : { sizeBytes, extents, restoring, restoreProgress };
  }

  /** Runs `fn` over [0, total) in pieces of at most 16 MiB, `concurrency` at a time. */
  private async pieces(total: number, fn: (at: number, length: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const at = next;
        const length = Math.min(MAX_REQUEST_BYTES, total - at);
        next += length;
        await fn(at, length);
      }
    };
    const workers = Math.min(this.concurrency, Math.ceil(total / MAX_REQUEST_BYTES));
    await Promise.all(Array.from({ length: workers }, worker));
  }

  private json(answer: Answer): Record<string, unknown> {
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    if (answer.status === 200 && parsed) return parsed;
    if (parsed && typeof parsed.Code === 'string')
      throw new EnsnapError(
        parsed.Code,
        String(parsed.Message ?? ''),
        answer.status,
        String(parsed.RequestId ?? ''),
      );
    throw new EnsnapError(
      'HttpError',
      `HTTP ${answer.status}: ${answer.body.toString('utf8', 0, 200)}`,
      answer.status,
    );
  }

  private request(action: string, version: string, params: Params, body?: Body): Promise<Answer> {
    const query = toStrings(params);
    const payload = body?.bytes ?? Buffer.alloc(0);
    const payloadHash = hashHex('ACS3-HMAC-SHA256', payload);
    const headers: Record<string, string> = {
      host: this.url.host,
      'x-acs-action': action,
      'x-acs-version': version,
      'x-acs-date': new Date().toISOString().slice(0, 19) + 'Z',
      'x-acs-signature-nonce': randomBytes(16).toString('hex'),
      'x-acs-content-sha256': payloadHash,
    };
    if (body) headers['content-type'] = body.type;
    const authorization = v3Authorization({
      algorithm: 'ACS3-HMAC-SHA256',
      method: 'POST',
      path: '/',
      query,
      headers,
      payloadHash,
      accessKeyId: this.options.accessKeyId,
      secret: this.options.accessKeySecret,
    });
    const qs = canonicalQuery(query);
    return new Promise<Answer>((resolve, reject) => {
      const req = this.transport.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          path: '/' + (qs ? '?' + qs : ''),
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, authorization, 'content-length': String(payload.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(transportError(error)));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
            }),
          );
        },
      );
      req.on('error', (error) => reject(transportError(error)));
      req.end(payload);
    });
  }
}

function transportError(error: Error): EnsnapError {
  const code = (error as { code?: string }).code ?? 'NetworkError';
  return new EnsnapError(code, `cannot reach the server: ${error.message}`, 0);
}
