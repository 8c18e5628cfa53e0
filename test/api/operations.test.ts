// Every ENS operation through the official SDK clients (pop-core GET/POST, openapi-client V3 and
// SM3 and v2, parameters in the query and in a form body): response shapes as the reference gives
// them, every filter, pagination, status transitions, deletes, and both id profiles.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import {
  CURRENT_SNAPSHOT_ID,
  DISK_ID,
  ISO_TIME,
  ORDER_ID,
  OTHER_REGION,
  REGION,
  REQUEST_ID,
  Restartable,
  SEED_SNAPSHOT_ID,
  assertSdkError,
  createDisk,
  pop,
  createSnapshot,
  describeDisks,
  describeSnapshots,
  waitFor,
  waitSnapshotGone,
  waitSnapshotStatus,
  type DiskItem,
} from '../helpers/fixtures.js';
import { everyMode, sdkError, type Client } from '../helpers/sdk.js';

const DISK_KEYS = [
  'Category',
  'CreationTime',
  'DeleteWithInstance',
  'Description',
  'DiskChargeType',
  'DiskId',
  'DiskName',
  'Encrypted',
  'EncryptedKeyId',
  'EnsRegionId',
  'InstanceId',
  'InstanceName',
  'Portable',
  'SerialId',
  'Size',
  'SnapshotId',
  'Status',
  'Tags',
  'Type',
];

const SNAPSHOT_KEYS = [
  'CreationTime',
  'Description',
  'EnsRegionId',
  'Size',
  'SnapshotId',
  'SnapshotName',
  'SourceDiskCategory',
  'SourceDiskId',
  'SourceDiskType',
  'SourceEnsRegionId',
  'SourceSnapshotId',
  'Status',
];

const sortedKeys = (o: object): string[] => Object.keys(o).sort();
const recent = (time: string): boolean => Math.abs(Date.parse(time) - Date.now()) < 120_000;

describe('DescribeEnsRegions', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('lists every served node under EnsRegions.EnsRegions with Code 0, in every client mode', async () => {
    for (const client of everyMode(server)) {
      const r = await client.call('DescribeEnsRegions');
      assert.deepEqual(sortedKeys(r), ['Code', 'EnsRegions', 'RequestId'], client.name);
      assert.equal(r.Code, 0, client.name);
      assert.match(r.RequestId as string, REQUEST_ID);
      const regions = (r.EnsRegions as { EnsRegions: Record<string, unknown>[] }).EnsRegions;
      assert.equal(regions.length, 10, client.name);
      for (const region of regions) {
        assert.deepEqual(
          sortedKeys(region),
          ['Area', 'EnName', 'EnsRegionId', 'Name', 'Province'],
          client.name,
        );
        for (const value of Object.values(region)) assert.equal(typeof value, 'string', client.name);
      }
      assert.deepEqual(
        regions.find((x) => x.EnsRegionId === 'cn-dalian-unicom'),
        {
          EnsRegionId: 'cn-dalian-unicom',
          Name: '大连联通',
          EnName: 'Dalian-Unicom',
          Area: 'NorthEastChina',
          Province: '辽宁省',
        },
        client.name,
      );
    }
  });

  it('filters by EnsRegionId; an unknown node gives an empty list with HTTP 200', async () => {
    for (const client of everyMode(server)) {
      const one = await client.call('DescribeEnsRegions', { EnsRegionId: OTHER_REGION });
      const list = (one.EnsRegions as { EnsRegions: { EnsRegionId: string }[] }).EnsRegions;
      assert.deepEqual(
        list.map((x) => x.EnsRegionId),
        [OTHER_REGION],
        client.name,
      );
      const none = await client.call('DescribeEnsRegions', { EnsRegionId: 'xx-nowhere-9' });
      assert.deepEqual(none.EnsRegions, { EnsRegions: [] }, client.name);
      assert.equal(none.Code, 0, client.name);
    }
  });
});

describe('CreateDisk, DescribeDisks, DeleteDisk', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('CreateDisk answers {RequestId, InstanceIds: [d-…]} and the disk is listed as the reference shows it', async () => {
    for (const client of everyMode(server)) {
      const r = await client.call('CreateDisk', {
        EnsRegionId: REGION,
        Category: 'cloud_efficiency',
        InstanceChargeType: 'PostPaid',
        Size: 20,
      });
      assert.deepEqual(sortedKeys(r), ['InstanceIds', 'RequestId'], client.name);
      assert.match(r.RequestId as string, REQUEST_ID);
      const ids = r.InstanceIds as string[];
      assert.equal(ids.length, 1, client.name);
      const diskId = ids[0] as string;
      assert.match(diskId, DISK_ID, client.name);

      const d = await client.call('DescribeDisks', { DiskId: diskId });
      assert.deepEqual(
        sortedKeys(d),
        ['Code', 'Disks', 'PageNumber', 'PageSize', 'RequestId', 'TotalCount'],
        client.name,
      );
      assert.equal(d.Code, 0);
      assert.equal(d.PageNumber, 1);
      assert.equal(d.PageSize, 10);
      assert.equal(d.TotalCount, 1);
      const disks = (d.Disks as { Disks: DiskItem[] }).Disks;
      assert.equal(disks.length, 1, client.name);
      const disk = disks[0] as DiskItem;
      assert.deepEqual(sortedKeys(disk), DISK_KEYS, client.name);
      assert.match(disk.CreationTime, ISO_TIME);
      assert.ok(recent(disk.CreationTime), disk.CreationTime);
      assert.deepEqual(
        { ...disk, CreationTime: '', SerialId: '' },
        {
          DiskId: diskId,
          DiskName: '',
          Category: 'cloud_efficiency',
          Size: 20480,
          Status: 'Available',
          Type: '2',
          EnsRegionId: REGION,
          InstanceId: '',
          InstanceName: '',
          CreationTime: '',
          DiskChargeType: 'postpay',
          DeleteWithInstance: false,
          Portable: true,
          Encrypted: false,
          EncryptedKeyId: '',
          SnapshotId: '',
          SerialId: '',
          Description: '',
          Tags: { Tags: [] },
        },
        client.name,
      );
    }
  });

  it('keeps DiskName, Encrypted, KMSKeyId and tags (Tags.Tags[], in order)', async () => {
    for (const client of everyMode(server)) {
      const diskId = await createDisk(client, {
        Size: 32,
        DiskName: 'data-disk:1',
        Encrypted: true,
        KMSKeyId: 'kms-key-1',
        'Tag.1.Key': 'env',
        'Tag.1.Value': 'test',
        'Tag.2.Key': 'owner',
        'Tag.2.Value': '',
        'Tag.3.Key': '团队',
        'Tag.3.Value': 'a b/c',
      });
      const disk = (await describeDisks(client, { DiskId: diskId })).items[0] as DiskItem;
      assert.equal(disk.DiskName, 'data-disk:1', client.name);
      assert.equal(disk.Size, 32 * 1024, client.name);
      assert.equal(disk.Encrypted, true, client.name);
      assert.equal(disk.EncryptedKeyId, 'kms-key-1', client.name);
      assert.deepEqual(
        disk.Tags,
        {
          Tags: [
            { Key: 'env', Value: 'test' },
            { Key: 'owner', Value: '' },
            { Key: '团队', Value: 'a b/c' },
          ],
        },
        client.name,
      );
      const byName = await describeDisks(client, { DiskName: 'data-disk:1' });
      assert.ok(
        byName.items.some((x) => x.DiskId === diskId),
        client.name,
      );
    }
  });

  it('DeleteDisk answers {RequestId, Code: 0} and the disk disappears', async () => {
    for (const client of everyMode(server)) {
      const diskId = await createDisk(client);
      const r = await client.call('DeleteDisk', { DiskId: diskId });
      assert.deepEqual(sortedKeys(r), ['Code', 'RequestId'], client.name);
      assert.equal(r.Code, 0, client.name);
      await waitFor(
        () => describeDisks(client, { DiskId: diskId }),
        (x) => x.total === 0,
        `disk ${diskId} gone`,
      );
      const gone = await describeDisks(client, { DiskId: diskId });
      assert.deepEqual(gone.body.Disks, { Disks: [] }, client.name);
      assert.equal(gone.body.Code, 0);
      assertSdkError(
        await sdkError(() => client.call('DeleteDisk', { DiskId: diskId })),
        'DiskIdNotFound',
        400,
        client.name,
      );
    }
  });

  it('DeleteDisk of an unknown disk is DiskIdNotFound; without DiskId, MissingParameter', async () => {
    for (const client of everyMode(server)) {
      const e = await sdkError(() => client.call('DeleteDisk', { DiskId: 'd-doesnotexist0000000000000' }));
      assertSdkError(e, 'DiskIdNotFound', 400, client.name);
      assert.equal(e.data.Message, 'The input parameter DiskId that is not found.');
      const m = await sdkError(() => client.call('DeleteDisk', {}));
      assertSdkError(m, 'MissingParameter', 400, client.name);
      assert.match(m.data.Message as string, /DiskId/);
    }
  });
});

describe('DeleteDisk with background jobs off: the disk stays Deleting', () => {
  let server: Running;
  let client: Client;
  before(async () => {
    server = await startEnsnap({ ENSNAP_JOBS: 'off' });
    client = pop(server);
  });
  after(() => server.stop());

  it('shows Deleting, filters by Status, and refuses a second DeleteDisk with IncorrectStatus.Disk', async () => {
    const keep = await createDisk(client);
    const diskId = await createDisk(client);
    await client.call('DeleteDisk', { DiskId: diskId });
    const listed = (await describeDisks(client, { DiskId: diskId })).items;
    assert.equal(listed[0]?.Status, 'Deleting');
    const deleting = await describeDisks(client, { Status: 'Deleting' });
    assert.deepEqual(
      deleting.items.map((d) => d.DiskId),
      [diskId],
    );
    const available = await describeDisks(client, { Status: 'Available' });
    assert.deepEqual(
      available.items.map((d) => d.DiskId),
      [keep],
    );
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('DeleteDisk', { DiskId: diskId }));
      assertSdkError(e, 'IncorrectStatus.Disk', 400, mode.name);
      assert.equal(e.data.Message, 'The status of the disk is incorrect.');
    }
  });
});

describe('a snapshot outlives its disk', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('keeps SourceDiskId after DeleteDisk, and a new disk can be created from it', async () => {
    const client = pop(server);
    const diskId = await createDisk(client, { Size: 24 });
    const id = await createSnapshot(client, diskId);
    await waitSnapshotStatus(client, id, 'available');
    await client.call('DeleteDisk', { DiskId: diskId });
    await waitFor(
      () => describeDisks(client, { DiskId: diskId }),
      (r) => r.total === 0,
      'disk gone',
    );
    const s = (await describeSnapshots(client, { SnapshotId: id })).items[0];
    assert.equal(s?.Status, 'available');
    assert.equal(s?.SourceDiskId, diskId);
    assert.equal(s?.Size, String(24 * 1024));
    assert.deepEqual(
      (await describeSnapshots(client, { DiskId: diskId })).items.map((x) => x.SnapshotId),
      [id],
    );
    const restored = await createDisk(client, { SnapshotId: id, Size: undefined });
    assert.equal((await describeDisks(client, { DiskId: restored })).items[0]?.Size, 24 * 1024);
  });
});

describe('default order: newest first', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('DescribeDisks and DescribeSnapshots list the newest first', async () => {
    const client = pop(server);
    const pause = () => new Promise((r) => setTimeout(r, 5));
    const disks: string[] = [];
    const snapshots: string[] = [];
    for (let i = 0; i < 4; i++) {
      disks.push(await createDisk(client));
      await pause();
    }
    for (let i = 0; i < 4; i++) {
      snapshots.push(await createSnapshot(client, disks[0] as string));
      await pause();
    }
    assert.deepEqual(
      (await describeDisks(client)).items.map((d) => d.DiskId),
      [...disks].reverse(),
    );
    assert.deepEqual(
      (await describeSnapshots(client)).items.map((x) => x.SnapshotId),
      [...snapshots].reverse(),
    );
  });
});

describe('DescribeDisks filters', () => {
  let server: Running;
  let client: Client;
  // name → id; sizes in GiB
  const disks: Record<string, string> = {};
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    const specs: [string, string, string, number][] = [
      ['bravo', REGION, 'cloud_ssd', 20],
      ['alpha', REGION, 'cloud_efficiency', 30],
      ['delta', REGION, 'cloud_ssd', 40],
      ['charlie', OTHER_REGION, 'cloud_efficiency', 50],
      ['echo', OTHER_REGION, 'cloud_ssd', 60],
    ];
    for (const [name, region, category, size] of specs) {
      disks[name] = await createDisk(client, {
        DiskName: name,
        EnsRegionId: region,
        Category: category,
        Size: size,
      });
    }
  });
  after(() => server.stop());

  const names = (items: DiskItem[]): string[] => items.map((d) => d.DiskName).sort();

  it('DiskId selects one disk, in every client mode; an unknown id gives {Disks: []} with HTTP 200', async () => {
    for (const mode of everyMode(server)) {
      const one = await describeDisks(mode, { DiskId: disks.alpha });
      assert.deepEqual(names(one.items), ['alpha'], mode.name);
      assert.equal(one.total, 1);
      const none = await describeDisks(mode, { DiskId: 'd-unknown000000000000000000' });
      assert.deepEqual(none.body.Disks, { Disks: [] }, mode.name);
      assert.equal(none.total, 0);
      assert.equal(none.body.Code, 0);
    }
  });

  it('DiskIds takes a JSON array; unknown ids in it are skipped; with DiskId both must match', async () => {
    for (const mode of everyMode(server)) {
      const two = await describeDisks(mode, { DiskIds: JSON.stringify([disks.alpha, disks.echo]) });
      assert.deepEqual(names(two.items), ['alpha', 'echo'], mode.name);
      assert.equal(two.total, 2);
      const partial = await describeDisks(mode, {
        DiskIds: JSON.stringify([disks.bravo, 'd-unknown000000000000000000']),
      });
      assert.deepEqual(names(partial.items), ['bravo'], mode.name);
      const both = await describeDisks(mode, {
        DiskId: disks.bravo,
        DiskIds: JSON.stringify([disks.bravo, disks.alpha]),
      });
      assert.deepEqual(names(both.items), ['bravo'], mode.name);
      const disjoint = await describeDisks(mode, {
        DiskId: disks.bravo,
        DiskIds: JSON.stringify([disks.alpha]),
      });
      assert.deepEqual(disjoint.items, [], mode.name);
    }
  });

  it('EnsRegionId and EnsRegionIds (JSON array) filter by node; an unknown node gives an empty list', async () => {
    assert.deepEqual(names((await describeDisks(client, { EnsRegionId: REGION })).items), [
      'alpha',
      'bravo',
      'delta',
    ]);
    assert.deepEqual(names((await describeDisks(client, { EnsRegionId: OTHER_REGION })).items), [
      'charlie',
      'echo',
    ]);
    const both = await describeDisks(client, { EnsRegionIds: JSON.stringify([REGION, OTHER_REGION]) });
    assert.equal(both.total, 5);
    const one = await describeDisks(client, { EnsRegionIds: JSON.stringify([OTHER_REGION]) });
    assert.deepEqual(names(one.items), ['charlie', 'echo']);
    const none = await describeDisks(client, { EnsRegionId: 'xx-nowhere-9' });
    assert.deepEqual(none.body.Disks, { Disks: [] });
    assert.equal(none.total, 0);
    // Given together, a disk must match both.
    const both2 = await describeDisks(client, {
      EnsRegionId: OTHER_REGION,
      EnsRegionIds: JSON.stringify([REGION, OTHER_REGION]),
    });
    assert.deepEqual(names(both2.items), ['charlie', 'echo']);
    const disjoint = await describeDisks(client, {
      EnsRegionId: REGION,
      EnsRegionIds: JSON.stringify([OTHER_REGION]),
    });
    assert.equal(disjoint.total, 0);
  });

  it('Category, Status, Type, DiskName, InstanceId, DiskChargeType filter and combine with AND', async () => {
    assert.deepEqual(names((await describeDisks(client, { Category: 'cloud_ssd' })).items), [
      'bravo',
      'delta',
      'echo',
    ]);
    assert.deepEqual(
      names((await describeDisks(client, { Category: 'cloud_ssd', EnsRegionId: OTHER_REGION })).items),
      ['echo'],
    );
    assert.equal((await describeDisks(client, { Category: 'local_ssd' })).total, 0);
    assert.equal((await describeDisks(client, { Status: 'Available' })).total, 5);
    assert.equal((await describeDisks(client, { Status: 'In-use' })).total, 0);
    assert.equal((await describeDisks(client, { Type: 'data' })).total, 5);
    assert.equal((await describeDisks(client, { Type: 'system' })).total, 0);
    assert.deepEqual(names((await describeDisks(client, { DiskName: 'charlie' })).items), ['charlie']);
    assert.equal((await describeDisks(client, { DiskName: 'char' })).total, 0);
    assert.equal((await describeDisks(client, { InstanceId: 'i-5t77rb0yoz79m28ku60sx0000' })).total, 0);
    assert.equal((await describeDisks(client, { DiskChargeType: 'postpay' })).total, 5);
    assert.equal((await describeDisks(client, { DiskChargeType: 'prePay' })).total, 0);
  });

  it('OrderByParams sorts by name, size, region (asc and desc)', async () => {
    const order = async (o: Record<string, string>): Promise<string[]> =>
      (await describeDisks(client, { OrderByParams: JSON.stringify(o) })).items.map((d) => d.DiskName);
    assert.deepEqual(await order({ DiskNameSort: 'asc' }), ['alpha', 'bravo', 'charlie', 'delta', 'echo']);
    assert.deepEqual(await order({ DiskNameSort: 'desc' }), ['echo', 'delta', 'charlie', 'bravo', 'alpha']);
    assert.deepEqual(await order({ SizeSort: 'asc' }), ['bravo', 'alpha', 'delta', 'charlie', 'echo']);
    assert.deepEqual(await order({ SizeSort: 'desc' }), ['echo', 'charlie', 'delta', 'alpha', 'bravo']);
    // cn-beijing-15 < cn-shenzhen-3; names break the tie.
    assert.deepEqual(await order({ EnsRegionIdSort: 'desc', DiskNameSort: 'asc' }), [
      'charlie',
      'echo',
      'alpha',
      'bravo',
      'delta',
    ]);
    const e = await sdkError(() => client.call('DescribeDisks', { OrderByParams: '{"DiskNameSort":"up"}' }));
    assertSdkError(e, 'InvalidParameter.OrderByParams', 400);
  });
});

describe('DescribeDisks pagination', () => {
  let server: Running;
  let client: Client;
  let all: string[];
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    all = await Promise.all(Array.from({ length: 51 }, () => createDisk(client)));
  });
  after(() => server.stop());

  it('defaults to PageNumber 1, PageSize 10, and echoes them with TotalCount', async () => {
    for (const mode of everyMode(server)) {
      const r = await describeDisks(mode);
      assert.equal(r.items.length, 10, mode.name);
      assert.equal(r.body.PageNumber, 1);
      assert.equal(r.body.PageSize, 10);
      assert.equal(r.total, 51);
    }
  });

  it('PageSize 50 is the maximum; the pages cover every disk once; 51 is InvalidParameter.PageSize', async () => {
    const p1 = await describeDisks(client, { PageSize: 50 });
    const p2 = await describeDisks(client, { PageSize: 50, PageNumber: 2 });
    assert.equal(p1.items.length, 50);
    assert.equal(p2.items.length, 1);
    assert.equal(p2.body.PageNumber, 2);
    assert.equal(p2.body.PageSize, 50);
    assert.equal(p2.total, 51);
    assert.deepEqual([...p1.items, ...p2.items].map((d) => d.DiskId).sort(), [...all].sort());
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('DescribeDisks', { PageSize: 51 }));
      assertSdkError(e, 'InvalidParameter.PageSize', 400, mode.name);
    }
  });

  it('a PageNumber beyond the end gives an empty list and the true TotalCount', async () => {
    const r = await describeDisks(client, { PageNumber: 7, PageSize: 10 });
    assert.deepEqual(r.body.Disks, { Disks: [] });
    assert.equal(r.total, 51);
    assert.equal(r.body.PageNumber, 7);
    const last = await describeDisks(client, { PageNumber: 6, PageSize: 10 });
    assert.equal(last.items.length, 1);
  });
});

describe('CreateSnapshot and DescribeSnapshots, seed profile (default)', () => {
  let server: Running;
  let diskId: string;
  before(async () => {
    server = await startEnsnap();
    diskId = await createDisk(pop(server), { Category: 'cloud_efficiency', Size: 40 });
  });
  after(() => server.stop());

  it('CreateSnapshot answers SnapShotId as an s- string and a 15-digit OrderId, in every client mode', async () => {
    const orders = new Set<string>();
    const ids = new Set<string>();
    for (const client of everyMode(server)) {
      const r = await client.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: REGION });
      assert.deepEqual(sortedKeys(r), ['OrderId', 'RequestId', 'SnapShotId'], client.name);
      assert.match(r.RequestId as string, REQUEST_ID);
      assert.equal(typeof r.SnapShotId, 'string', client.name);
      assert.match(r.SnapShotId as string, SEED_SNAPSHOT_ID, client.name);
      assert.equal(typeof r.OrderId, 'string', client.name);
      assert.match(r.OrderId as string, ORDER_ID, client.name);
      orders.add(r.OrderId as string);
      ids.add(r.SnapShotId as string);
    }
    assert.equal(orders.size, everyMode(server).length, 'every OrderId is new');
    assert.equal(ids.size, everyMode(server).length, 'every SnapShotId is new');
  });

  it('DescribeSnapshots shows the snapshot with every field (Size a MiB string), then available', async () => {
    for (const client of everyMode(server)) {
      const id = await createSnapshot(client, diskId, {
        SnapshotName: 'nightly-1',
        Description: 'daily backup',
      });
      const r = await describeSnapshots(client, { SnapshotId: id });
      assert.deepEqual(sortedKeys(r.body), [
        'PageNumber',
        'PageSize',
        'RequestId',
        'Snapshots',
        'TotalCount',
      ]);
      assert.ok(Array.isArray(r.body.Snapshots), 'Snapshots is a bare array');
      assert.equal(r.total, 1);
      const s = r.items[0];
      assert.ok(s);
      assert.deepEqual(sortedKeys(s), SNAPSHOT_KEYS, client.name);
      assert.ok(['creating', 'available'].includes(s.Status), s.Status);
      assert.match(s.CreationTime, ISO_TIME);
      assert.ok(recent(s.CreationTime));
      assert.deepEqual(
        { ...s, Status: '', CreationTime: '' },
        {
          SnapshotId: id,
          SnapshotName: 'nightly-1',
          Description: 'daily backup',
          Status: '',
          CreationTime: '',
          EnsRegionId: REGION,
          Size: '40960',
          SourceDiskId: diskId,
          SourceDiskType: '2',
          SourceDiskCategory: 'cloud_efficiency',
          SourceEnsRegionId: REGION,
          SourceSnapshotId: '',
        },
        client.name,
      );
      await waitSnapshotStatus(client, id, 'available');
    }
  });
});

describe('CreateSnapshot and DescribeSnapshots, current profile (ENSNAP_PROFILE=current)', () => {
  let server: Running;
  let diskId: string;
  before(async () => {
    server = await startEnsnap({ ENSNAP_PROFILE: 'current' });
    diskId = await createDisk(pop(server));
  });
  after(() => server.stop());

  it('CreateSnapshot answers SnapShotId as an array of one sp- id, in every client mode', async () => {
    const orders = new Set<string>();
    for (const client of everyMode(server)) {
      const r = await client.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: REGION });
      assert.deepEqual(sortedKeys(r), ['OrderId', 'RequestId', 'SnapShotId'], client.name);
      assert.ok(Array.isArray(r.SnapShotId), client.name);
      const ids = r.SnapShotId as string[];
      assert.equal(ids.length, 1);
      assert.match(ids[0] as string, CURRENT_SNAPSHOT_ID, client.name);
      assert.match(r.OrderId as string, ORDER_ID);
      orders.add(r.OrderId as string);
      const listed = await describeSnapshots(client, { SnapshotId: ids[0] });
      assert.equal(listed.items[0]?.SnapshotId, ids[0], client.name);
      assert.equal(listed.items[0]?.SourceDiskId, diskId);
      assert.equal(listed.items[0]?.Size, '20480');
    }
    assert.equal(orders.size, everyMode(server).length);
  });

  it('the id filters take sp- ids as a plain id, a JSON array and a comma list', async () => {
    const client = pop(server);
    const a = await createSnapshot(client, diskId);
    const b = await createSnapshot(client, diskId);
    for (const value of [JSON.stringify([a, b]), `${a},${b}`]) {
      const r = await describeSnapshots(client, { SnapshotId: value });
      assert.deepEqual(r.items.map((s) => s.SnapshotId).sort(), [a, b].sort(), value);
    }
  });
});

describe('snapshot status: creating → available (jobs off, then on)', () => {
  const node = new Restartable();
  after(() => node.stop());

  it('a snapshot stays creating while no job runs, and becomes available once jobs run', async () => {
    const server = await node.start({ ENSNAP_JOBS: 'off' });
    const client = pop(server);
    const diskId = await createDisk(client);
    const id = await createSnapshot(client, diskId);
    for (const mode of everyMode(server)) {
      const r = await describeSnapshots(mode, { SnapshotId: id });
      assert.equal(r.items[0]?.Status, 'creating', mode.name);
    }
    // A snapshot still being created can be neither deleted nor used for a disk.
    assertSdkError(
      await sdkError(() => client.call('DeleteSnapshot', { SnapshotId: id })),
      'IncorrectInstanceStatus',
      400,
    );
    assertSdkError(
      await sdkError(() =>
        client.call('CreateDisk', {
          EnsRegionId: REGION,
          Category: 'cloud_ssd',
          InstanceChargeType: 'PostPaid',
          SnapshotId: id,
        }),
      ),
      'IncorrectInstanceStatus',
      400,
    );

    const again = pop(await node.start());
    await waitSnapshotStatus(again, id, 'available');
    const r = await describeSnapshots(again, { SnapshotId: id });
    assert.equal(r.items[0]?.Status, 'available');
  });
});

describe('DescribeSnapshots filters', () => {
  let server: Running;
  let client: Client;
  const disk: Record<string, string> = {};
  const snap: Record<string, string> = {};
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    disk.a = await createDisk(client);
    disk.b = await createDisk(client);
    disk.c = await createDisk(client, { EnsRegionId: OTHER_REGION });
    snap.a1 = await createSnapshot(client, disk.a, { SnapshotName: 'alpha' });
    snap.a2 = await createSnapshot(client, disk.a, { SnapshotName: 'beta' });
    snap.b1 = await createSnapshot(client, disk.b, { SnapshotName: 'alpha' });
    snap.c1 = await createSnapshot(client, disk.c as string, { SnapshotName: 'gamma' }, OTHER_REGION);
  });
  after(() => server.stop());

  const ids = (items: { SnapshotId: string }[]): string[] => items.map((s) => s.SnapshotId).sort();
  const of = (...keys: string[]): string[] => keys.map((k) => snap[k] as string).sort();

  it('SnapshotId: a plain id, a JSON array, a comma list — in every client mode', async () => {
    for (const mode of everyMode(server)) {
      assert.deepEqual(
        ids((await describeSnapshots(mode, { SnapshotId: snap.a2 })).items),
        of('a2'),
        mode.name,
      );
      const json = await describeSnapshots(mode, { SnapshotId: JSON.stringify([snap.a1, snap.c1]) });
      assert.deepEqual(ids(json.items), of('a1', 'c1'), mode.name);
      assert.equal(json.total, 2);
      const comma = await describeSnapshots(mode, { SnapshotId: `${snap.b1},${snap.c1}` });
      assert.deepEqual(ids(comma.items), of('b1', 'c1'), mode.name);
      const spaced = await describeSnapshots(mode, { SnapshotId: `${snap.b1}, ${snap.a1}` });
      assert.deepEqual(ids(spaced.items), of('a1', 'b1'), mode.name);
    }
  });

  it('unknown snapshot ids give Snapshots: [] with HTTP 200, in every client mode', async () => {
    for (const mode of everyMode(server)) {
      for (const value of ['s-unknown00000000000000', JSON.stringify(['s-unknown00000000000000'])]) {
        const r = await describeSnapshots(mode, { SnapshotId: value });
        assert.deepEqual(r.body.Snapshots, [], mode.name);
        assert.equal(r.total, 0);
      }
      const mixed = await describeSnapshots(mode, {
        SnapshotId: JSON.stringify(['s-unknown00000000000000', snap.a1]),
      });
      assert.deepEqual(ids(mixed.items), of('a1'), mode.name);
    }
  });

  it('SnapshotName (exact), DiskId, EnsRegionId, EnsRegionIds, InstanceId, and their AND', async () => {
    assert.deepEqual(ids((await describeSnapshots(client, { SnapshotName: 'alpha' })).items), of('a1', 'b1'));
    assert.deepEqual((await describeSnapshots(client, { SnapshotName: 'alp' })).items, []);
    assert.deepEqual(ids((await describeSnapshots(client, { DiskId: disk.a })).items), of('a1', 'a2'));
    assert.deepEqual((await describeSnapshots(client, { DiskId: 'd-unknown000000000000000000' })).items, []);
    assert.deepEqual(
      ids((await describeSnapshots(client, { EnsRegionId: REGION })).items),
      of('a1', 'a2', 'b1'),
    );
    assert.deepEqual(ids((await describeSnapshots(client, { EnsRegionId: OTHER_REGION })).items), of('c1'));
    assert.deepEqual((await describeSnapshots(client, { EnsRegionId: 'xx-nowhere-9' })).items, []);
    assert.deepEqual(
      ids((await describeSnapshots(client, { EnsRegionIds: JSON.stringify([REGION, OTHER_REGION]) })).items),
      of('a1', 'a2', 'b1', 'c1'),
    );
    assert.deepEqual(
      ids((await describeSnapshots(client, { EnsRegionIds: JSON.stringify([OTHER_REGION]) })).items),
      of('c1'),
    );
    assert.deepEqual(
      ids(
        (
          await describeSnapshots(client, {
            EnsRegionId: OTHER_REGION,
            EnsRegionIds: JSON.stringify([REGION, OTHER_REGION]),
          })
        ).items,
      ),
      of('c1'),
    );
    assert.deepEqual(
      (await describeSnapshots(client, { EnsRegionId: REGION, EnsRegionIds: JSON.stringify([OTHER_REGION]) }))
        .items,
      [],
    );
    assert.deepEqual(
      ids((await describeSnapshots(client, { SnapshotName: 'alpha', DiskId: disk.b })).items),
      of('b1'),
    );
    assert.deepEqual(
      (await describeSnapshots(client, { SnapshotName: 'gamma', EnsRegionId: REGION })).items,
      [],
    );
    assert.deepEqual(
      ids(
        (
          await describeSnapshots(client, {
            SnapshotId: JSON.stringify([snap.a1, snap.a2]),
            SnapshotName: 'beta',
          })
        ).items,
      ),
      of('a2'),
    );
    assert.deepEqual(
      (await describeSnapshots(client, { InstanceId: 'i-5t77rb0yoz79m28ku60sx0000' })).items,
      [],
    );
    const everything = await describeSnapshots(client);
    assert.equal(everything.total, 4);
  });
});

describe('DescribeSnapshots pagination', () => {
  let server: Running;
  let client: Client;
  let diskId: string;
  let all: string[];
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    diskId = await createDisk(client);
    all = await Promise.all(Array.from({ length: 101 }, () => createSnapshot(client, diskId)));
  });
  after(() => server.stop());

  it('defaults to PageNumber 1, PageSize 10, and echoes them with TotalCount', async () => {
    for (const mode of everyMode(server)) {
      const r = await describeSnapshots(mode);
      assert.equal(r.items.length, 10, mode.name);
      assert.equal(r.body.PageNumber, 1);
      assert.equal(r.body.PageSize, 10);
      assert.equal(r.total, 101);
    }
  });

  it('PageSize 100 is the maximum; the pages cover every snapshot once; 101 is InvalidParameter.PageSize', async () => {
    const p1 = await describeSnapshots(client, { PageSize: 100 });
    const p2 = await describeSnapshots(client, { PageSize: 100, PageNumber: 2 });
    assert.equal(p1.items.length, 100);
    assert.equal(p2.items.length, 1);
    assert.equal(p2.body.PageSize, 100);
    assert.equal(p2.body.PageNumber, 2);
    assert.deepEqual([...p1.items, ...p2.items].map((s) => s.SnapshotId).sort(), [...all].sort());
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('DescribeSnapshots', { PageSize: 101 }));
      assertSdkError(e, 'InvalidParameter.PageSize', 400, mode.name);
    }
  });

  it('a PageNumber beyond the end gives Snapshots: [] and the true TotalCount', async () => {
    const r = await describeSnapshots(client, { PageNumber: 12 });
    assert.deepEqual(r.body.Snapshots, []);
    assert.equal(r.total, 101);
    assert.equal(r.body.PageNumber, 12);
    assert.equal((await describeSnapshots(client, { PageNumber: 11 })).items.length, 1);
    const filtered = await describeSnapshots(client, { DiskId: diskId, PageSize: 7, PageNumber: 3 });
    assert.equal(filtered.items.length, 7);
    assert.equal(filtered.total, 101);
  });
});

describe('ModifySnapshotAttribute', () => {
  let server: Running;
  let client: Client;
  let diskId: string;
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    diskId = await createDisk(client);
  });
  after(() => server.stop());

  it('answers {RequestId} and changes only the fields given, in every client mode', async () => {
    for (const mode of everyMode(server)) {
      const id = await createSnapshot(client, diskId, { SnapshotName: 'before', Description: 'old text' });
      const r = await mode.call('ModifySnapshotAttribute', { SnapshotId: id, SnapshotName: 'after-1' });
      assert.deepEqual(sortedKeys(r), ['RequestId'], mode.name);
      assert.match(r.RequestId as string, REQUEST_ID);
      let s = (await describeSnapshots(mode, { SnapshotId: id })).items[0];
      assert.equal(s?.SnapshotName, 'after-1', mode.name);
      assert.equal(s?.Description, 'old text', mode.name);

      await mode.call('ModifySnapshotAttribute', { SnapshotId: id, Description: 'new text, with / and é' });
      s = (await describeSnapshots(mode, { SnapshotId: id })).items[0];
      assert.equal(s?.SnapshotName, 'after-1', mode.name);
      assert.equal(s?.Description, 'new text, with / and é', mode.name);

      await mode.call('ModifySnapshotAttribute', {
        SnapshotId: id,
        SnapshotName: 'both',
        Description: 'both too',
      });
      s = (await describeSnapshots(mode, { SnapshotId: id })).items[0];
      assert.equal(s?.SnapshotName, 'both');
      assert.equal(s?.Description, 'both too');
      assert.equal((await describeSnapshots(mode, { SnapshotName: 'both', SnapshotId: id })).total, 1);
    }
  });

  it('an unknown snapshot is SnapshotIdNotFound; without SnapshotId, MissingParameter', async () => {
    for (const mode of everyMode(server)) {
      const e = await sdkError(() =>
        mode.call('ModifySnapshotAttribute', { SnapshotId: 's-unknown00000000000000', SnapshotName: 'abc' }),
      );
      assertSdkError(e, 'SnapshotIdNotFound', 400, mode.name);
      assert.equal(e.data.Message, 'The input parameter SnapshotId that is not found.');
      const m = await sdkError(() => mode.call('ModifySnapshotAttribute', { SnapshotName: 'abc' }));
      assertSdkError(m, 'MissingParameter', 400, mode.name);
      assert.equal(
        m.data.Message,
        'The input parameter SnapshotId that is mandatory for processing this request is not supplied.',
      );
    }
  });
});

describe('DeleteSnapshot', () => {
  let server: Running;
  let client: Client;
  let diskId: string;
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    diskId = await createDisk(client);
  });
  after(() => server.stop());

  it('answers {RequestId} and the snapshot disappears from DescribeSnapshots, in every client mode', async () => {
    const keep = await createSnapshot(client, diskId);
    for (const mode of everyMode(server)) {
      const id = await createSnapshot(client, diskId);
      await waitSnapshotStatus(client, id, 'available');
      const r = await mode.call('DeleteSnapshot', { SnapshotId: id });
      assert.deepEqual(sortedKeys(r), ['RequestId'], mode.name);
      await waitSnapshotGone(mode, id);
      const after = await describeSnapshots(mode, { SnapshotId: id });
      assert.deepEqual(after.body.Snapshots, [], mode.name);
    }
    assert.equal((await describeSnapshots(client, { SnapshotId: keep })).total, 1, 'other snapshots stay');
  });

  it('an unknown (or already deleted) snapshot is refused; without SnapshotId, MissingParameter', async () => {
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('DeleteSnapshot', { SnapshotId: 's-unknown00000000000000' }));
      assertSdkError(e, 'INSTANCE_ID_NOT_FOUND', 400, mode.name);
      const m = await sdkError(() => mode.call('DeleteSnapshot', {}));
      assertSdkError(m, 'MissingParameter', 400, mode.name);
      assert.match(m.data.Message as string, /SnapshotId/);
    }
  });
});

describe('DeleteSnapshot passes through deleting (jobs off, then on)', () => {
  const node = new Restartable();
  after(() => node.stop());

  it('shows deleting while no job runs, refuses a second delete, and is gone once jobs run', async () => {
    let client = pop(await node.start());
    const diskId = await createDisk(client);
    const id = await createSnapshot(client, diskId);
    await waitSnapshotStatus(client, id, 'available');

    client = pop(await node.start({ ENSNAP_JOBS: 'off' }));
    await client.call('DeleteSnapshot', { SnapshotId: id });
    for (const mode of everyMode(node.server)) {
      const r = await describeSnapshots(mode, { SnapshotId: id });
      assert.equal(r.items[0]?.Status, 'deleting', mode.name);
    }
    assertSdkError(
      await sdkError(() => client.call('DeleteSnapshot', { SnapshotId: id })),
      'IncorrectInstanceStatus',
      400,
    );

    client = pop(await node.start());
    await waitSnapshotGone(client, id);
    assert.equal((await describeSnapshots(client)).total, 0);
  });
});

describe('CreateDisk from a snapshot', () => {
  let server: Running;
  let client: Client;
  let snapshotId: string;
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    const diskId = await createDisk(client, { Size: 40 });
    snapshotId = await createSnapshot(client, diskId);
    await waitSnapshotStatus(client, snapshotId, 'available');
  });
  after(() => server.stop());

  it('takes max(Size, snapshot size) and records SnapshotId, in every client mode', async () => {
    for (const mode of everyMode(server)) {
      const cases: [number | undefined, number][] = [
        [20, 40 * 1024],
        [60, 60 * 1024],
        [undefined, 40 * 1024],
      ];
      for (const [size, expected] of cases) {
        const r = await mode.call('CreateDisk', {
          EnsRegionId: REGION,
          Category: 'cloud_ssd',
          InstanceChargeType: 'PostPaid',
          SnapshotId: snapshotId,
          Size: size,
        });
        const diskId = (r.InstanceIds as string[])[0] as string;
        const disk = (await describeDisks(mode, { DiskId: diskId })).items[0];
        assert.equal(disk?.Size, expected, `${mode.name} Size=${size}`);
        assert.equal(disk?.SnapshotId, snapshotId);
        assert.equal(disk?.Status, 'Available');
      }
    }
    const fromSnapshot = await describeDisks(client, { SnapshotId: snapshotId, PageSize: 50 });
    assert.equal(fromSnapshot.total, everyMode(server).length * 3);
  });

  it('a snapshot in another node is InvalidParameter.EnsRegionId; an unknown one SnapshotIdNotFound', async () => {
    for (const mode of everyMode(server)) {
      const base = { Category: 'cloud_ssd', InstanceChargeType: 'PostPaid', Size: 20 };
      assertSdkError(
        await sdkError(() =>
          mode.call('CreateDisk', { ...base, EnsRegionId: OTHER_REGION, SnapshotId: snapshotId }),
        ),
        'InvalidParameter.EnsRegionId',
        400,
        mode.name,
      );
      assertSdkError(
        await sdkError(() =>
          mode.call('CreateDisk', { ...base, EnsRegionId: REGION, SnapshotId: 's-unknown00000000000000' }),
        ),
        'SnapshotIdNotFound',
        400,
        mode.name,
      );
    }
  });
});
