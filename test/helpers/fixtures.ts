// Small ENS helpers for the API tests: creating disks and snapshots through a client, polling for
// a state, restarting a server on the same data directory, and checking the error envelope.
import assert from 'node:assert/strict';
import { startEnsnap, type Running } from './ensnap.js';
import { plain, popCore, type Client, type Endpoint, type Params, type SdkError } from './sdk.js';

/** pop-core (GET), answering plain objects. */
export const pop = (e: Endpoint): Client => plain(popCore(e));

export const REGION = 'cn-beijing-15';
export const OTHER_REGION = 'cn-shenzhen-3';

export const REQUEST_ID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
export const DISK_ID = /^d-[a-z0-9]{25}$/;
export const SEED_SNAPSHOT_ID = /^s-[a-z0-9]{20}$/;
export const CURRENT_SNAPSHOT_ID = /^sp-[a-z0-9]{24}$/;
export const ORDER_ID = /^[0-9]{15}$/;
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export interface DiskItem {
  DiskId: string;
  DiskName: string;
  Category: string;
  Size: number;
  Status: string;
  Type: string;
  EnsRegionId: string;
  SnapshotId: string;
  CreationTime: string;
  Tags: { Tags: { Key: string; Value: string }[] };
  [key: string]: unknown;
}

export interface SnapshotItem {
  SnapshotId: string;
  SnapshotName: string;
  Description: string;
  Status: string;
  CreationTime: string;
  EnsRegionId: string;
  Size: string;
  SourceDiskId: string;
  SourceDiskType: string;
  SourceDiskCategory: string;
  SourceEnsRegionId: string;
  SourceSnapshotId: string;
}

export async function createDisk(client: Client, params: Params = {}): Promise<string> {
  const r = await client.call('CreateDisk', {
    EnsRegionId: REGION,
    Category: 'cloud_ssd',
    InstanceChargeType: 'PostPaid',
    Size: 20,
    ...params,
  });
  const ids = r.InstanceIds as string[];
  assert.equal(ids.length, 1);
  return ids[0] as string;
}

/** The snapshot id of a CreateSnapshot answer, in either profile's form. */
export function snapshotIdOf(response: Record<string, unknown>): string {
  const id = response.SnapShotId;
  if (Array.isArray(id)) {
    assert.equal(id.length, 1);
    return id[0] as string;
  }
  assert.equal(typeof id, 'string');
  return id as string;
}

export async function createSnapshot(
  client: Client,
  diskId: string,
  params: Params = {},
  region = REGION,
): Promise<string> {
  return snapshotIdOf(
    await client.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: region, ...params }),
  );
}

export async function describeSnapshots(
  client: Client,
  params: Params = {},
): Promise<{ total: number; items: SnapshotItem[]; body: Record<string, unknown> }> {
  const body = await client.call('DescribeSnapshots', params);
  return { total: body.TotalCount as number, items: body.Snapshots as SnapshotItem[], body };
}

export async function describeDisks(
  client: Client,
  params: Params = {},
): Promise<{ total: number; items: DiskItem[]; body: Record<string, unknown> }> {
  const body = await client.call('DescribeDisks', params);
  return { total: body.TotalCount as number, items: (body.Disks as { Disks: DiskItem[] }).Disks, body };
}

export async function snapshotCount(client: Client): Promise<number> {
  return (await describeSnapshots(client, { PageSize: 1 })).total;
}

/** Polls `read` until `done` holds for its value (or fails after `timeoutMs`). */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function waitSnapshotStatus(client: Client, snapshotId: string, status: string): Promise<void> {
  await waitFor(
    () => describeSnapshots(client, { SnapshotId: snapshotId }),
    (r) => r.items[0]?.Status === status,
    `snapshot ${snapshotId} ${status}`,
  );
}

export async function waitSnapshotGone(client: Client, snapshotId: string): Promise<void> {
  await waitFor(
    () => describeSnapshots(client, { SnapshotId: snapshotId }),
    (r) => r.total === 0 && r.items.length === 0,
    `snapshot ${snapshotId} gone`,
  );
}

/** The server on a data directory, which can be stopped and started again with other settings. */
export class Restartable {
  private current: (Running & { app: { close(): Promise<void> } }) | undefined;
  private dataDir: string | undefined;

  get server(): Running {
    assert.ok(this.current, 'server not started');
    return this.current;
  }

  /** Starts (or restarts, keeping the data directory) with `env`. */
  async start(env: Record<string, string> = {}): Promise<Running> {
    if (this.current) await this.current.app.close();
    this.current = await startEnsnap(env, this.dataDir);
    this.dataDir = this.current.dataDir;
    return this.current;
  }

  /** Stops for good and removes the data directory. */
  async stop(): Promise<void> {
    await this.current?.stop();
    this.current = undefined;
  }
}

const ENVELOPE_KEYS = new Set(['RequestId', 'HostId', 'Code', 'Message', 'Recommend', 'AccessDeniedDetail']);

/** The JSON error envelope: RequestId, HostId, Code, Message, nothing internal. */
export function assertErrorBody(body: Record<string, unknown>, code: string, where = ''): void {
  assert.equal(body.Code, code, where);
  assert.match(String(body.RequestId), REQUEST_ID, where);
  assert.equal(body.HostId, '127.0.0.1', where);
  assert.equal(typeof body.Message, 'string', where);
  assert.ok((body.Message as string).length > 0, where);
  for (const key of Object.keys(body)) assert.ok(ENVELOPE_KEYS.has(key), `${where}: unexpected key ${key}`);
  assert.doesNotMatch(JSON.stringify(body), /\bat .+\.(js|ts):\d+|node_modules|Error: /, where);
}

/**
 * An error an SDK threw: its code, HTTP status and the envelope it carried (openapi-client adds
 * `statusCode` to the body it hands back; that one is the client's, not the server's).
 */
export function assertSdkError(error: SdkError, code: string, status: number, where = ''): void {
  assert.equal(error.code, code, where);
  assert.equal(error.statusCode, status, where);
  const { statusCode, ...body } = error.data;
  if (statusCode !== undefined) assert.equal(statusCode, status, where);
  assertErrorBody(body, code, where);
}
