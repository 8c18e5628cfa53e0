// ResizeDisk, ResetDisk, CopySnapshot and CreateDisk with SnapshotId through every SDK client
// mode: answers in the reference's shapes, every documented refusal, and nothing changed by a
// refused request. (That the restored bytes are the snapshot's is checked through the data plane.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import {
  ORDER_ID,
  OTHER_REGION,
  REGION,
  assertSdkError,
  createDisk,
  createSnapshot,
  describeDisks,
  describeSnapshots,
  pop,
  waitSnapshotStatus,
} from '../helpers/fixtures.js';
import { everyMode, sdkError } from '../helpers/sdk.js';

describe('ResizeDisk, ResetDisk, CopySnapshot, CreateDisk from a snapshot', () => {
  let server: Running;
  let diskId: string;
  let snapshotId: string;
  before(async () => {
    server = await startEnsnap();
    diskId = await createDisk(pop(server));
    snapshotId = await createSnapshot(pop(server), diskId);
    await waitSnapshotStatus(pop(server), snapshotId, 'available');
  });
  after(() => server.stop());

  it('ResizeDisk grows the disk and records an order; DescribeDisks shows the new size', async () => {
    let size = 20;
    for (const client of everyMode(server)) {
      size += 1;
      const r = await client.call('ResizeDisk', { DiskId: diskId, NewSize: size });
      assert.match(r.OrderId as string, ORDER_ID, client.name);
      const disk = (await describeDisks(client, { DiskId: diskId })).items[0];
      assert.equal(disk?.Size, size * 1024, client.name);
    }
  });

  it('ResizeDisk refuses to shrink, unknown disks and sizes out of range', async () => {
    const client = pop(server);
    const before = (await describeDisks(client, { DiskId: diskId })).items[0]?.Size as number;
    const cases: [Record<string, string | number>, string][] = [
      [{ DiskId: diskId, NewSize: before / 1024 }, 'InvalidParameter.NewSize'],
      [{ DiskId: diskId, NewSize: 20 }, 'InvalidParameter.NewSize'],
      [{ DiskId: diskId, NewSize: 32769 }, 'InvalidParameter.NewSize'],
      [{ DiskId: diskId, NewSize: 'x' }, 'InvalidParameter.NewSize'],
      [{ DiskId: 'd-unknown', NewSize: 100 }, 'DiskIdNotFound'],
      [{ DiskId: diskId }, 'MissingParameter'],
    ];
    for (const [params, code] of cases) {
      assertSdkError(
        await sdkError(() => client.call('ResizeDisk', params)),
        code,
        400,
        JSON.stringify(params),
      );
    }
    assert.equal((await describeDisks(client, { DiskId: diskId })).items[0]?.Size, before);
  });

  it('ResetDisk rolls the disk back to one of its own snapshots', async () => {
    for (const client of everyMode(server)) {
      const r = await client.call('ResetDisk', { DiskId: diskId, SnapshotId: snapshotId });
      assert.deepEqual(Object.keys(r), ['RequestId'], client.name);
    }
  });

  it('ResetDisk refuses unknown disks and snapshots, and snapshots of another disk', async () => {
    const client = pop(server);
    const other = await createDisk(client);
    const otherSnapshot = await createSnapshot(client, other);
    await waitSnapshotStatus(client, otherSnapshot, 'available');
    const cases: [Record<string, string>, string][] = [
      [{ DiskId: 'd-unknown', SnapshotId: snapshotId }, 'DiskIdNotFound'],
      [{ DiskId: diskId, SnapshotId: 's-unknown' }, 'SnapshotIdNotFound'],
      [{ DiskId: diskId, SnapshotId: otherSnapshot }, 'InvalidParameter.SnapshotId'],
      [{ DiskId: diskId }, 'MissingParameter'],
    ];
    for (const [params, code] of cases) {
      assertSdkError(
        await sdkError(() => client.call('ResetDisk', params)),
        code,
        400,
        JSON.stringify(params),
      );
    }
  });

  it('CopySnapshot makes one available copy per destination node, naming its source', async () => {
    for (const client of everyMode(server)) {
      const r = await client.call('CopySnapshot', {
        SnapshotId: snapshotId,
        DestinationRegionIds: JSON.stringify([OTHER_REGION, REGION]),
        DestinationSnapshotName: 'copied-1',
        DestinationSnapshotDescription: 'a copy',
      });
      assert.equal(r.BizStatusCode, 'AllSuccess', client.name);
      assert.deepEqual(r.UnAllocationId, []);
      const allocations = r.AllocationId as { EnsRegionId: string; InstanceId: string[] }[];
      assert.deepEqual(
        allocations.map((a) => a.EnsRegionId),
        [OTHER_REGION, REGION],
      );
      for (const allocation of allocations) {
        const copyId = allocation.InstanceId[0] as string;
        await waitSnapshotStatus(client, copyId, 'available');
        const copy = (await describeSnapshots(client, { SnapshotId: copyId })).items[0];
        assert.equal(copy?.EnsRegionId, allocation.EnsRegionId);
        assert.equal(copy?.SourceSnapshotId, snapshotId);
        assert.equal(copy?.SourceEnsRegionId, REGION);
        assert.equal(copy?.SnapshotName, 'copied-1');
        assert.equal(copy?.Description, 'a copy');
      }
    }
  });

  it('CopySnapshot refuses unknown snapshots, unknown nodes and malformed lists, creating nothing', async () => {
    const client = pop(server);
    const count = (await describeSnapshots(client, { PageSize: 1 })).total;
    const cases: [Record<string, string>, string][] = [
      [{ SnapshotId: 's-unknown', DestinationRegionIds: `["${REGION}"]` }, 'SnapshotIdNotFound'],
      [
        { SnapshotId: snapshotId, DestinationRegionIds: '["xx-nowhere-1"]' },
        'InvalidParameter.DestinationRegionIds',
      ],
      [{ SnapshotId: snapshotId, DestinationRegionIds: REGION }, 'InvalidParameter.DestinationRegionIds'],
      [{ SnapshotId: snapshotId, DestinationRegionIds: '[1]' }, 'InvalidParameter.DestinationRegionIds'],
      [
        { SnapshotId: snapshotId, DestinationRegionIds: `["${REGION}"]`, DestinationSnapshotName: 'x' },
        'InvalidParameter.DestinationSnapshotName',
      ],
      [{ SnapshotId: snapshotId }, 'MissingParameter'],
    ];
    for (const [params, code] of cases) {
      assertSdkError(
        await sdkError(() => client.call('CopySnapshot', params)),
        code,
        400,
        JSON.stringify(params),
      );
    }
    assert.equal((await describeSnapshots(client, { PageSize: 1 })).total, count);
  });

  it('CreateDisk with SnapshotId makes a disk of the snapshot, of at least its size', async () => {
    const client = pop(server);
    const id = await createDisk(client, { SnapshotId: snapshotId, Size: undefined });
    const disk = (await describeDisks(client, { DiskId: id })).items[0];
    assert.equal(disk?.SnapshotId, snapshotId);
    assert.equal(disk?.Size, 20 * 1024);
    assert.equal(disk?.Status, 'Available');
  });
});
