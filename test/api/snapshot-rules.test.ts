// The seed's CreateSnapshot rules, both sides of every boundary, through every SDK client mode:
// SnapshotName (2–128 characters, starts with a letter, letters/digits/`:`/`_`/`-`, no http(s)://
// prefix), Description (2–256 characters, no http(s):// prefix), ModifySnapshotAttribute's extra
// `auto` rule, and CreateSnapshot's errors (missing parameters, unknown or busy disks, regions).
// A refused request changes nothing; every accepted one gets a new 15-digit OrderId.
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
  describeSnapshots,
  pop,
  snapshotCount,
  snapshotIdOf,
} from '../helpers/fixtures.js';
import { everyMode, sdkError, type Client, type Params } from '../helpers/sdk.js';

const invalidMessage = (field: string): string =>
  `The specified field ${field} invalid. Please check it again.`;
const missingMessage = (field: string): string =>
  `The input parameter ${field} that is mandatory for processing this request is not supplied.`;

const NAME_ACCEPTED: [string, string][] = [
  ['2 characters (shortest)', 'ab'],
  ['128 characters (longest)', 'a'.repeat(128)],
  ['an upper-case first letter', 'Backup'],
  ['digits after the first letter', 'a0123456789'],
  ['a colon', 'a:b'],
  ['an underscore', 'a_b'],
  ['a hyphen', 'a-b'],
  ['every allowed character', 'Az09:_-zZ'],
  ['an accented first letter (é)', 'éclair'],
  ['a Chinese name', '中文'],
  ['a Chinese first character then ASCII', '中snap-1'],
  ['128 Chinese characters (length counts characters, not bytes)', '中'.repeat(128)],
  ['128 characters of é', 'é'.repeat(128)],
  ['http: without the slashes', 'http:backup'],
  ['https as a plain word', 'httpsBackup'],
  ['auto at the start (only ModifySnapshotAttribute reserves it)', 'autoSnap'],
];

const NAME_REFUSED: [string, string][] = [
  ['1 character', 'a'],
  ['1 Chinese character', '中'],
  ['129 characters', 'a'.repeat(129)],
  ['129 Chinese characters', '中'.repeat(129)],
  ['a digit first', '1backup'],
  ['an underscore first', '_backup'],
  ['a colon first', ':backup'],
  ['a hyphen first', '-backup'],
  ['an http:// prefix', 'http://backup'],
  ['an https:// prefix', 'https://backup'],
  ['an upper-case HTTP:// prefix', 'HTTP://backup'],
  ['a mixed-case Https:// prefix', 'Https://backup'],
  ['a space', 'a b'],
  ['a dot', 'a.b'],
  ['a slash', 'a/b'],
  ['an at sign', 'a@b'],
  ['a plus', 'a+b'],
  ['a percent sign', 'a%20b'],
  ['an ampersand and equals sign', 'a&b=c'],
  ['a trailing newline', 'ab\n'],
];

const DESCRIPTION_ACCEPTED: [string, string][] = [
  ['2 characters (shortest)', 'ab'],
  ['256 characters (longest)', 'd'.repeat(256)],
  ['256 Chinese characters', '描'.repeat(256)],
  ['any characters, a digit first', '1 daily backup: /data @ 03:00, 100% ok & done!'],
  ['http:// not at the start', 'see http://example.com'],
  ['https without ://', 'https is used'],
  ['non-ASCII', 'sauvegarde éphémère 快照'],
  // Characters the SDKs put on the wire differently from how they sign them.
  ["~ * ' ( ) ! (encoded differently on the wire and in the signature)", "daily backup ~ v1*(a)! 'quoted'"],
  ['+ % & = ; # ?', 'a+b %20 & c=d; #e ?f'],
  ['a newline and a tab', 'line one\nline two\tend'],
];

const DESCRIPTION_REFUSED: [string, string][] = [
  ['1 character', 'd'],
  ['1 Chinese character', '描'],
  ['257 characters', 'd'.repeat(257)],
  ['257 Chinese characters', '描'.repeat(257)],
  ['an http:// prefix', 'http://example.com'],
  ['an https:// prefix', 'https://example.com'],
  ['an upper-case HTTPS:// prefix', 'HTTPS://example.com'],
  ['a mixed-case hTTp:// prefix', 'hTTp://example.com'],
];

describe('CreateSnapshot SnapshotName and Description rules (seed)', () => {
  let server: Running;
  let client: Client;
  let diskId: string;
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    diskId = await createDisk(client);
  });
  after(() => server.stop());

  /** Each mode creates a snapshot with `params`; the stored value comes back unchanged. */
  async function expectAccepted(params: Params, field: 'SnapshotName' | 'Description'): Promise<void> {
    for (const mode of everyMode(server)) {
      const id = snapshotIdOf(
        await mode.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: REGION, ...params }),
      );
      const stored = (await describeSnapshots(client, { SnapshotId: id })).items[0];
      assert.equal(stored?.[field], params[field], `${mode.name}: ${JSON.stringify(params[field])}`);
    }
  }

  /** Each mode is refused with InvalidParameter.<field>, and no snapshot appears. */
  async function expectRefused(params: Params, field: string): Promise<void> {
    const before = await snapshotCount(client);
    for (const mode of everyMode(server)) {
      const e = await sdkError(() =>
        mode.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: REGION, ...params }),
      );
      assertSdkError(e, `InvalidParameter.${field}`, 400, `${mode.name}: ${JSON.stringify(params)}`);
      assert.equal(e.data.Message, invalidMessage(field));
    }
    assert.equal(await snapshotCount(client), before, 'a refused CreateSnapshot creates nothing');
  }

  for (const [what, name] of NAME_ACCEPTED) {
    it(`SnapshotName accepted: ${what}`, () => expectAccepted({ SnapshotName: name }, 'SnapshotName'));
  }
  for (const [what, name] of NAME_REFUSED) {
    it(`SnapshotName refused: ${what}`, () => expectRefused({ SnapshotName: name }, 'SnapshotName'));
  }
  for (const [what, text] of DESCRIPTION_ACCEPTED) {
    it(`Description accepted: ${what}`, () => expectAccepted({ Description: text }, 'Description'));
  }
  for (const [what, text] of DESCRIPTION_REFUSED) {
    it(`Description refused: ${what}`, () => expectRefused({ Description: text }, 'Description'));
  }

  it('a valid name with an invalid description is refused as a whole', async () => {
    await expectRefused({ SnapshotName: 'valid-name', Description: 'x' }, 'Description');
    assert.equal((await describeSnapshots(client, { SnapshotName: 'valid-name' })).total, 0);
  });

  it('an empty SnapshotName or Description (sent as `Name=`) is the same as none, in every client mode', async () => {
    for (const mode of everyMode(server)) {
      const id = snapshotIdOf(
        await mode.call('CreateSnapshot', {
          DiskId: diskId,
          EnsRegionId: REGION,
          SnapshotName: '',
          Description: '',
        }),
      );
      const stored = (await describeSnapshots(client, { SnapshotId: id })).items[0];
      assert.equal(stored?.SnapshotName, '', mode.name);
      assert.equal(stored?.Description, '', mode.name);
    }
  });

  it('without SnapshotName and Description, both are stored empty', async () => {
    const id = await createSnapshot(client, diskId);
    const stored = (await describeSnapshots(client, { SnapshotId: id })).items[0];
    assert.equal(stored?.SnapshotName, '');
    assert.equal(stored?.Description, '');
  });
});

describe('ModifySnapshotAttribute SnapshotName and Description rules', () => {
  let server: Running;
  let client: Client;
  let snapshotId: string;
  const ORIGINAL = { SnapshotName: 'original-name', Description: 'original description' };
  before(async () => {
    server = await startEnsnap();
    client = pop(server);
    const diskId = await createDisk(client);
    snapshotId = await createSnapshot(client, diskId, ORIGINAL);
  });
  after(() => server.stop());

  async function current(): Promise<{ SnapshotName?: string; Description?: string }> {
    const s = (await describeSnapshots(client, { SnapshotId: snapshotId })).items[0];
    return { SnapshotName: s?.SnapshotName, Description: s?.Description };
  }

  async function expectRefused(params: Params, field: string): Promise<void> {
    await client.call('ModifySnapshotAttribute', { SnapshotId: snapshotId, ...ORIGINAL });
    for (const mode of everyMode(server)) {
      const e = await sdkError(() =>
        mode.call('ModifySnapshotAttribute', { SnapshotId: snapshotId, ...params }),
      );
      assertSdkError(e, `InvalidParameter.${field}`, 400, `${mode.name}: ${JSON.stringify(params)}`);
      assert.equal(e.data.Message, invalidMessage(field));
    }
    assert.deepEqual(await current(), ORIGINAL, 'a refused ModifySnapshotAttribute changes nothing');
  }

  async function expectAccepted(params: Params): Promise<void> {
    for (const mode of everyMode(server)) {
      await client.call('ModifySnapshotAttribute', { SnapshotId: snapshotId, ...ORIGINAL });
      await mode.call('ModifySnapshotAttribute', { SnapshotId: snapshotId, ...params });
      assert.deepEqual(await current(), { ...ORIGINAL, ...params }, mode.name);
    }
  }

  for (const [what, name] of NAME_ACCEPTED.filter(([, n]) => !n.startsWith('auto'))) {
    it(`SnapshotName accepted: ${what}`, () => expectAccepted({ SnapshotName: name }));
  }
  for (const [what, name] of NAME_REFUSED) {
    it(`SnapshotName refused: ${what}`, () => expectRefused({ SnapshotName: name }, 'SnapshotName'));
  }
  for (const [what, text] of DESCRIPTION_ACCEPTED) {
    it(`Description accepted: ${what}`, () => expectAccepted({ Description: text }));
  }
  for (const [what, text] of DESCRIPTION_REFUSED) {
    it(`Description refused: ${what}`, () => expectRefused({ Description: text }, 'Description'));
  }

  for (const name of ['auto', 'autoSnap', 'auto-1', 'auto_daily', 'automatic']) {
    it(`SnapshotName refused: starts with auto (${name})`, () =>
      expectRefused({ SnapshotName: name }, 'SnapshotName'));
  }

  for (const name of ['myauto', 'Autumn', 'Auto-1']) {
    // rules.ts: the reserved prefix is refused as the reference writes it, in lower case.
    it(`SnapshotName accepted: ${name} (auto later, or not in lower case)`, () =>
      expectAccepted({ SnapshotName: name }));
  }

  it('a valid name with an invalid description changes neither', () =>
    expectRefused({ SnapshotName: 'new-name', Description: 'https://x' }, 'Description'));
});

describe('CreateSnapshot errors', () => {
  let server: Running;
  let client: Client;
  let diskId: string;
  let otherRegionDisk: string;
  let deletingDisk: string;
  before(async () => {
    // Jobs off: a deleted disk stays Deleting.
    server = await startEnsnap({ ENSNAP_JOBS: 'off' });
    client = pop(server);
    diskId = await createDisk(client);
    otherRegionDisk = await createDisk(client, { EnsRegionId: OTHER_REGION });
    deletingDisk = await createDisk(client);
    await client.call('DeleteDisk', { DiskId: deletingDisk });
  });
  after(() => server.stop());

  async function expectError(params: Params, code: string, message: string): Promise<void> {
    const before = await snapshotCount(client);
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('CreateSnapshot', params));
      assertSdkError(e, code, 400, `${mode.name}: ${JSON.stringify(params)}`);
      assert.equal(e.data.Message, message, mode.name);
    }
    assert.equal(await snapshotCount(client), before, 'a refused CreateSnapshot creates nothing');
  }

  it('without DiskId: MissingParameter naming DiskId', () =>
    expectError({ EnsRegionId: REGION }, 'MissingParameter', missingMessage('DiskId')));

  it('with an empty DiskId: MissingParameter naming DiskId', () =>
    expectError({ DiskId: '', EnsRegionId: REGION }, 'MissingParameter', missingMessage('DiskId')));

  it('without EnsRegionId: MissingParameter naming EnsRegionId', () =>
    expectError({ DiskId: diskId }, 'MissingParameter', missingMessage('EnsRegionId')));

  it('an unknown disk: DiskIdNotFound', () =>
    expectError(
      { DiskId: 'd-unknown000000000000000000', EnsRegionId: REGION },
      'DiskIdNotFound',
      'The input parameter DiskId that is not found.',
    ));

  it('a disk in another node: InvalidParameter.EnsRegionId', () =>
    expectError(
      { DiskId: otherRegionDisk, EnsRegionId: REGION },
      'InvalidParameter.EnsRegionId',
      invalidMessage('EnsRegionId'),
    ));

  it('an unknown node: InvalidParameter.EnsRegionId', () =>
    expectError(
      { DiskId: diskId, EnsRegionId: 'xx-nowhere-9' },
      'InvalidParameter.EnsRegionId',
      invalidMessage('EnsRegionId'),
    ));

  it('a disk being deleted: IncorrectStatus.Disk', async () => {
    const disk = (await client.call('DescribeDisks', { DiskId: deletingDisk })).Disks as {
      Disks: { Status: string }[];
    };
    assert.equal(disk.Disks[0]?.Status, 'Deleting');
    await expectError(
      { DiskId: deletingDisk, EnsRegionId: REGION },
      'IncorrectStatus.Disk',
      'The status of the disk is incorrect.',
    );
  });

  it('every accepted CreateSnapshot returns a new 15-digit OrderId string', async () => {
    const orders: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const mode of everyMode(server)) {
        const r = await mode.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: REGION });
        assert.equal(typeof r.OrderId, 'string', mode.name);
        assert.match(r.OrderId as string, ORDER_ID, mode.name);
        orders.push(r.OrderId as string);
      }
    }
    // Concurrent creates too.
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.call('CreateSnapshot', { DiskId: otherRegionDisk, EnsRegionId: OTHER_REGION }),
      ),
    );
    for (const r of concurrent) orders.push(r.OrderId as string);
    assert.equal(new Set(orders).size, orders.length, 'OrderIds are distinct');
    assert.ok(orders.every((o) => ORDER_ID.test(o)));
  });
});
