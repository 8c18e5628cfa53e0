// Killing the process (SIGKILL) and stopping it (SIGTERM): acknowledged work survives, no
// snapshot stays creating, every snapshot has its order, in-flight requests finish on SIGTERM.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { spawnEnsnap, tempDataDir, type Child } from '../helpers/ensnap.js';
import { popCore, type Client } from '../helpers/sdk.js';
import { createDisk, REGION } from '../helpers/fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function newDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}

async function snapshotStatuses(client: Client): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let page = 1; ; page++) {
    const r = await client.call('DescribeSnapshots', { PageSize: 100, PageNumber: page });
    const items = r.Snapshots as { SnapshotId: string; Status: string }[];
    for (const s of items) out.set(s.SnapshotId, s.Status);
    if (items.length < 100) return out;
  }
}

async function waitAllAvailable(client: Client, ids: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const statuses = await snapshotStatuses(client);
    if (ids.every((id) => statuses.get(id) === 'available')) return;
    if (Date.now() > deadline) assert.fail(`not all available: ${JSON.stringify([...statuses])}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function kill(child: Child, signal: NodeJS.Signals): Promise<number | string> {
  child.process.kill(signal);
  return child.exited;
}

/** Rows straight from the database file, after the server is gone. */
function readDb(dataDir: string): {
  snapshots: { id: string; status: string; order_id: string }[];
  orders: { id: string; resource_id: string }[];
} {
  const db = new Database(path.join(dataDir, 'ensnap.db'), { readonly: true, fileMustExist: true });
  try {
    return {
      snapshots: db.prepare('SELECT id, status, order_id FROM snapshots').all() as {
        id: string;
        status: string;
        order_id: string;
      }[],
      orders: db.prepare('SELECT id, resource_id FROM orders').all() as { id: string; resource_id: string }[],
    };
  } finally {
    db.close();
  }
}

describe('crash and restart', () => {
  it('snapshots left creating by a killed process are resumed on restart', async () => {
    const dataDir = newDir();
    const first = await spawnEnsnap(dataDir, { ENSNAP_JOBS: 'off' });
    const client = popCore(first);
    const diskId = await createDisk(client);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.call('CreateSnapshot', { EnsRegionId: REGION, DiskId: diskId });
      ids.push(r.SnapShotId as string);
    }
    const before = await snapshotStatuses(client);
    assert.deepEqual(
      ids.map((id) => before.get(id)),
      ids.map(() => 'creating'),
    );
    assert.equal(await kill(first, 'SIGKILL'), 'SIGKILL');

    const second = await spawnEnsnap(dataDir);
    try {
      await waitAllAvailable(popCore(second), ids);
    } finally {
      await kill(second, 'SIGTERM');
    }
  });

  it('a kill in the middle of a burst of CreateSnapshot loses nothing acknowledged and leaves no orphan', async () => {
    const dataDir = newDir();
    const first = await spawnEnsnap(dataDir);
    const client = popCore(first);
    const diskId = await createDisk(client);
    const acknowledged: string[] = [];
    let failures = 0;
    const burst = Array.from({ length: 200 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i));
      try {
        const r = await client.call('CreateSnapshot', { EnsRegionId: REGION, DiskId: diskId });
        acknowledged.push(r.SnapShotId as string);
      } catch {
        failures++;
      }
    });
    // The kill lands once answers have started coming back, while the burst is still arriving.
    const deadline = Date.now() + 5000;
    while (acknowledged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 10));
    await kill(first, 'SIGKILL');
    await Promise.all(burst);
    assert.ok(acknowledged.length > 0, 'some requests were answered before the kill');
    assert.ok(failures > 0, 'some requests were cut off by the kill');

    const rows = readDb(dataDir);
    const stored = new Set(rows.snapshots.map((s) => s.id));
    for (const id of acknowledged)
      assert.ok(stored.has(id), `acknowledged snapshot ${id} is in the database`);
    // One transaction writes both: never an order without its snapshot or a snapshot without its order.
    assert.equal(rows.orders.length, rows.snapshots.length);
    const orderOf = new Map(rows.orders.map((o) => [o.resource_id, o.id]));
    for (const s of rows.snapshots) assert.equal(orderOf.get(s.id), s.order_id);

    const second = await spawnEnsnap(dataDir);
    try {
      await waitAllAvailable(popCore(second), [...stored]);
    } finally {
      await kill(second, 'SIGTERM');
    }
  });

  it('SIGTERM lets in-flight requests finish, checkpoints jobs and exits 0', async () => {
    const dataDir = newDir();
    const first = await spawnEnsnap(dataDir, { ENSNAP_JOBS: 'off' });
    const client = popCore(first);
    const diskId = await createDisk(client);
    const inFlight = Array.from({ length: 20 }, () =>
      client.call('CreateSnapshot', { EnsRegionId: REGION, DiskId: diskId }),
    );
    // The requests are on the wire; stop while they are being served.
    await new Promise((r) => setImmediate(r));
    first.process.kill('SIGTERM');
    const answers = await Promise.allSettled(inFlight);
    const code = await first.exited;
    assert.equal(code, 0, first.output());
    const ok = answers
      .filter((a) => a.status === 'fulfilled')
      .map((a) => (a as PromiseFulfilledResult<Record<string, unknown>>).value.SnapShotId as string);
    const refused = answers.filter((a) => a.status === 'rejected');
    // Requests that reached the server before it stopped listening were answered; none half-done.
    const rows = readDb(dataDir);
    assert.equal(rows.snapshots.length, ok.length, `answered ${ok.length}, refused ${refused.length}`);
    assert.ok(ok.length > 0);

    const second = await spawnEnsnap(dataDir);
    try {
      await waitAllAvailable(popCore(second), ok);
    } finally {
      assert.equal(await kill(second, 'SIGTERM'), 0);
    }
  });
});
