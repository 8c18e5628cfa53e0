// Helpers for the engine's crash and fault tests: a seeded random source (so a failing run can be
// replayed), seeded pseudo-random disk content, an SDK client with a long timeout, and listings of
// what a server shows.
import RPCClient from '@alicloud/pop-core';
import { createCipheriv, createHash } from 'node:crypto';
import type { Endpoint, Params } from './sdk.js';

const TEXT_CORPUS = 1024 * 1024;

/** mulberry32: small, fast, seeded. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /**
   * `length` bytes of text-like data (compressible): one 1 MiB corpus of the generator's, read
   * cyclically from a 4 KiB-aligned start, so that the same sectors come back at other
   * alignments (the engine stores such blocks as their sectors, shared).
   */
  text(length: number): Buffer {
    this.corpus ??= Buffer.from(this.bytes(TEXT_CORPUS).map((b) => 'abcdefgh ijklmnop'.charCodeAt(b % 17)));
    const out = Buffer.alloc(length);
    let from = this.int(0, TEXT_CORPUS / 4096 - 1) * 4096;
    for (let at = 0; at < length; from = 0) at += this.corpus.copy(out, at, from);
    return out;
  }
  private corpus: Buffer | undefined;

  /** `length` pseudo-random bytes (AES-CTR keyed by the generator): fast and replayable. */
  bytes(length: number): Buffer {
    const key = createHash('sha256')
      .update(`${this.seed}:${this.int(0, 2 ** 31)}`)
      .digest();
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    return cipher.update(Buffer.alloc(length));
  }
}

/** The seed: ENSNAP_TEST_SEED to replay a run, else a new one (printed when the test fails). */
export function testSeed(): number {
  const given = process.env.ENSNAP_TEST_SEED;
  if (given !== undefined && given !== '') return Number(given) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

export interface SdkFailure {
  /** The catalog code when the server answered; undefined for a transport failure. */
  code: string | undefined;
  status: number | undefined;
  message: string;
}

/** pop-core (the provider's SDK core, GET) with a timeout long enough for restores under load. */
export function ensSdk(e: Endpoint) {
  const PopClient = (RPCClient as unknown as { RPCClient: typeof RPCClient }).RPCClient;
  const client = new PopClient({
    accessKeyId: e.accessKeyId,
    accessKeySecret: e.accessKeySecret,
    endpoint: e.endpoint,
    apiVersion: '2017-11-10',
    opts: { timeout: 120_000 },
  } as ConstructorParameters<typeof RPCClient>[0]);
  return {
    async call(action: string, params: Params = {}): Promise<Record<string, unknown>> {
      const clean = Object.fromEntries(
        Object.entries(params)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, String(v)]),
      );
      const answer = await client.request<Record<string, unknown>>(action, clean, {});
      return JSON.parse(JSON.stringify(answer)) as Record<string, unknown>;
    },
  };
}
export type EnsSdk = ReturnType<typeof ensSdk>;

/** What a failed SDK call tells: a server's refusal (with its code) or no answer at all. */
export function sdkFailure(error: unknown): SdkFailure {
  const e = error as {
    code?: string;
    message?: string;
    data?: Record<string, unknown>;
    entry?: { response?: { statusCode?: number } };
  };
  const answered = typeof e.data?.Code === 'string';
  return {
    code: answered ? (e.data?.Code as string) : undefined,
    status: e.entry?.response?.statusCode,
    message: String(e.message ?? error),
  };
}

export async function listSnapshots(
  sdk: EnsSdk,
): Promise<Map<string, { status: string; diskId: string; lastError: string }>> {
  const out = new Map<string, { status: string; diskId: string; lastError: string }>();
  for (let page = 1; ; page++) {
    const r = await sdk.call('DescribeSnapshots', { PageSize: 100, PageNumber: page });
    const items = r.Snapshots as { SnapshotId: string; Status: string; SourceDiskId: string }[];
    for (const s of items) out.set(s.SnapshotId, { status: s.Status, diskId: s.SourceDiskId, lastError: '' });
    if (items.length < 100) return out;
  }
}

export async function listDisks(sdk: EnsSdk): Promise<Map<string, { status: string; snapshotId: string }>> {
  const out = new Map<string, { status: string; snapshotId: string }>();
  for (let page = 1; ; page++) {
    const r = await sdk.call('DescribeDisks', { PageSize: 50, PageNumber: page });
    const items = (r.Disks as { Disks: { DiskId: string; Status: string; SnapshotId: string }[] }).Disks;
    for (const d of items) out.set(d.DiskId, { status: d.Status, snapshotId: d.SnapshotId });
    if (items.length < 50) return out;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
