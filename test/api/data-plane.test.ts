// The data plane (version 2026-11-01) over the wire: EnsnapClient against a real server, raw
// signed requests for what the client never sends (wrong bodies, wrong hashes, V1), and the
// point-in-time guarantee under concurrent writes. A refused request changes nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EnsnapClient, EnsnapError } from '../../src/client/ensnap-client.js';
import { hashHex, v3Authorization } from '../../src/protocol/signature-v3.js';
import { canonicalQuery } from '../../src/protocol/percent-encoding.js';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import {
  assertErrorBody,
  createDisk,
  createSnapshot,
  describeSnapshots,
  pop,
  waitFor,
  waitSnapshotStatus,
} from '../helpers/fixtures.js';
import { GiB, KiB, makeImage, MiB, sha256 } from '../helpers/images.js';
import { newNonce, signV1, utcTimestamp, type Endpoint } from '../helpers/sdk.js';

const DATA_VERSION = '2026-11-01';
const DISK_BYTES = 20 * GiB;

const clientOf = (e: Endpoint) =>
  new EnsnapClient({ endpoint: e.endpoint, accessKeyId: e.accessKeyId, accessKeySecret: e.accessKeySecret });

/** Rejects with an EnsnapError of `code` (and `status`). */
async function refused(promise: Promise<unknown>, code: string, status: number, where = ''): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof EnsnapError, `${where}: ${String(error)}`);
    assert.equal(error.code, code, `${where}: ${error.message}`);
    assert.equal(error.status, status, where);
    return true;
  });
}

interface RawAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  json(): Record<string, unknown>;
}

async function sendRaw(url: string, init: RequestInit): Promise<RawAnswer> {
  const response = await fetch(url, init);
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body,
    json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown>,
  };
}

/** A V3 data-plane request with `body`, signed as if its SHA-256 were `signedHash`. */
function v3Raw(
  e: Endpoint,
  action: string,
  query: Record<string, string>,
  body: Buffer,
  options: { signedHash?: string; contentType?: string } = {},
): [string, RequestInit] {
  const payloadHash = options.signedHash ?? hashHex('ACS3-HMAC-SHA256', body);
  const headers: Record<string, string> = {
    host: e.hostPort,
    'x-acs-action': action,
    'x-acs-version': DATA_VERSION,
    'x-acs-date': utcTimestamp(),
    'x-acs-signature-nonce': newNonce(),
    'x-acs-content-sha256': payloadHash,
  };
  if (options.contentType !== '') headers['content-type'] = options.contentType ?? 'application/octet-stream';
  const q = new Map(Object.entries(query));
  const authorization = v3Authorization({
    algorithm: 'ACS3-HMAC-SHA256',
    method: 'POST',
    path: '/',
    query: q,
    headers,
    payloadHash,
    accessKeyId: e.accessKeyId,
    secret: e.accessKeySecret,
  });
  // fetch sends host itself (the same value).
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'host'));
  return [
    `${e.endpoint}/?${canonicalQuery(q)}`,
    { method: 'POST', headers: { ...sent, authorization }, body },
  ];
}

/** A V1 data-plane request: parameters signed in the query, `body` raw. */
function v1Raw(e: Endpoint, params: Record<string, string>, body: Buffer): [string, RequestInit] {
  const signed = signV1(e, { Version: DATA_VERSION, ...params }, { method: 'POST' });
  return [signed.url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body }];
}

describe('data plane', () => {
  let server: Running;
  let client: EnsnapClient;
  let diskId: string;
  /** What the disk holds, as far as the tests wrote it (the rest is zeros). */
  let content: Buffer;

  before(async () => {
    server = await startEnsnap();
    client = clientOf(server);
    diskId = await createDisk(pop(server));
    content = Buffer.alloc(8 * MiB);
  });
  after(async () => {
    client.close();
    await server.stop();
  });

  const expectUnchanged = async (where: string) => {
    assert.equal(sha256(await client.readDisk(diskId, 0, content.length)), sha256(content), where);
  };

  it('writes and reads back, unaligned, holes read as zeros, extents say where data is', async () => {
    const image = makeImage(6 * MiB);
    await client.writeDisk(diskId, 0, image);
    image.copy(content, 0);
    const odd = randomBytes(100_001);
    await client.writeDisk(diskId, 3 * MiB + 7, odd);
    odd.copy(content, 3 * MiB + 7);
    await expectUnchanged('read back');
    assert.ok((await client.readDisk(diskId, DISK_BYTES - MiB, MiB)).equals(Buffer.alloc(MiB)));

    const { sizeBytes, extents } = await client.diskExtents(diskId);
    assert.equal(sizeBytes, DISK_BYTES);
    assert.ok(extents.length > 0);
    for (const e of extents) assert.ok(e.offset >= 0 && e.length > 0 && e.offset + e.length <= 6 * MiB);
    // Every non-zero byte lies in an extent.
    const covered = Buffer.alloc(content.length);
    for (const e of extents) covered.fill(1, e.offset, e.offset + e.length);
    for (let i = 0; i < content.length; i += 997)
      if (content[i] !== 0) assert.equal(covered[i], 1, `byte ${i}`);
  });

  it('takes writes and reads larger than one request (the client splits them)', async () => {
    const big = randomBytes(20 * MiB);
    await client.writeDisk(diskId, GiB, big);
    assert.equal(sha256(await client.readDisk(diskId, GiB, big.length)), sha256(big));
  });

  it('answers extents a page at a time (Offset continues where a page ended)', async () => {
    const r = await client.call('DescribeDiskExtents', { DiskId: diskId, Offset: 3 * MiB }, DATA_VERSION);
    const first = (r.Extents as { Offset: number; Length: number }[])[0];
    assert.ok(first && first.Offset >= 3 * MiB);
    assert.equal(r.SizeBytes, DISK_BYTES);
    assert.equal(r.NextOffset, undefined);
  });

  it('refuses bad ranges and numbers with catalog errors, writing nothing', async () => {
    const data = randomBytes(4 * KiB);
    await refused(client.writeDisk(diskId, DISK_BYTES, data), 'InvalidParameter.Offset', 400, 'at the end');
    await refused(client.writeDisk(diskId, DISK_BYTES - 100, data), 'InvalidParameter.Offset', 400, 'over');
    await refused(client.readDisk(diskId, DISK_BYTES, 1), 'InvalidParameter.Offset', 400);
    await refused(client.readDisk(diskId, DISK_BYTES - 1, 2), 'InvalidParameter.Length', 400);
    const call = (action: string, params: Record<string, string | number>) =>
      client.call(action, params, DATA_VERSION);
    await refused(
      call('ReadDiskData', { DiskId: diskId, Offset: 0, Length: 0 }),
      'InvalidParameter.Length',
      400,
    );
    await refused(
      call('ReadDiskData', { DiskId: diskId, Offset: 0, Length: 16 * MiB + 1 }),
      'InvalidParameter.Length',
      400,
    );
    for (const offset of ['-1', '1.5', '0x10', 'abc', '9'.repeat(16)])
      await refused(
        call('ReadDiskData', { DiskId: diskId, Offset: offset, Length: 1 }),
        'InvalidParameter.Offset',
        400,
        offset,
      );
    await refused(call('ReadDiskData', { DiskId: diskId, Length: 1 }), 'MissingParameter', 400);
    await refused(
      call('DescribeDiskExtents', { DiskId: diskId, Offset: DISK_BYTES + 1 }),
      'InvalidParameter.Offset',
      400,
    );
    await refused(client.writeDisk('d-doesnotexist0000000000000', 0, data), 'DiskIdNotFound', 400);
    await refused(client.readDisk('d-doesnotexist0000000000000', 0, 1), 'DiskIdNotFound', 400);
    await refused(client.diskExtents('nope'), 'DiskIdNotFound', 400);
    await refused(client.readSnapshot('s-doesnotexist', 0, 1), 'SnapshotIdNotFound', 400);
    await refused(client.snapshotExtents('s-doesnotexist'), 'SnapshotIdNotFound', 400);
    await expectUnchanged('after refused requests');
  });

  it('refuses wrong bodies: missing, too large, wrong type, wrong hash (V3 and V1)', async () => {
    const data = randomBytes(64 * KiB);
    const q = { DiskId: diskId, Offset: '0' };
    const cases: [string, [string, RequestInit], string, number][] = [
      ['missing body', v3Raw(server, 'WriteDiskData', q, Buffer.alloc(0)), 'MissingParameter', 400],
      [
        'form content type',
        v3Raw(server, 'WriteDiskData', q, data, { contentType: 'text/plain' }),
        'InvalidParameter.Content-Type',
        400,
      ],
      [
        'no content type',
        v3Raw(server, 'WriteDiskData', q, data, { contentType: '' }),
        'InvalidParameter.Content-Type',
        400,
      ],
      [
        'body changed after signing',
        v3Raw(server, 'WriteDiskData', q, data, { signedHash: hashHex('ACS3-HMAC-SHA256', randomBytes(10)) }),
        'SignatureDoesNotMatch',
        400,
      ],
      [
        'V3 ContentSha256 wrong',
        v3Raw(server, 'WriteDiskData', { ...q, ContentSha256: sha256(randomBytes(8)) }, data),
        'ContentSha256Mismatch',
        400,
      ],
      [
        'V1 without ContentSha256',
        v1Raw(server, { Action: 'WriteDiskData', ...q }, data),
        'MissingParameter',
        400,
      ],
      [
        'V1 with a wrong ContentSha256',
        v1Raw(server, { Action: 'WriteDiskData', ...q, ContentSha256: sha256(randomBytes(8)) }, data),
        'ContentSha256Mismatch',
        400,
      ],
      [
        'over 16 MiB',
        v3Raw(server, 'WriteDiskData', q, Buffer.alloc(16 * MiB + 1, 1)),
        'InvalidParameter.Body',
        413,
      ],
    ];
    for (const [label, [url, init], code, status] of cases) {
      const answer = await sendRaw(url, init);
      assert.equal(answer.status, status, `${label}: ${answer.body.toString()}`);
      assertErrorBody(answer.json(), code, label);
    }
    await expectUnchanged('after refused bodies');

    // The same V1 request with the right hash is taken.
    const [url, init] = v1Raw(server, { Action: 'WriteDiskData', ...q, ContentSha256: sha256(data) }, data);
    const answer = await sendRaw(url, init);
    assert.equal(answer.status, 200, answer.body.toString());
    data.copy(content, 0);
    await expectUnchanged('after a V1 write');
  });

  it('keeps the general body limit for actions that take no raw body', async () => {
    const [url, init] = v3Raw(server, 'DescribeDiskExtents', { DiskId: diskId }, Buffer.alloc(2 * MiB, 1));
    const answer = await sendRaw(url, init);
    assert.equal(answer.status, 413);
    assertErrorBody(answer.json(), 'InvalidParameter.Body');
  });

  it('answers reads as bytes and errors as envelopes, in XML when asked', async () => {
    const ok = await sendRaw(
      ...((): [string, RequestInit] => {
        const s = signV1(server, {
          Version: DATA_VERSION,
          Action: 'ReadDiskData',
          DiskId: diskId,
          Offset: '0',
          Length: '4096',
        });
        return [s.url, s.init];
      })(),
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.contentType, 'application/octet-stream');
    assert.ok(ok.body.equals(content.subarray(0, 4096)));
    const s = signV1(server, {
      Version: DATA_VERSION,
      Action: 'DescribeDiskExtents',
      DiskId: diskId,
      Format: 'XML',
    });
    const xml = await sendRaw(s.url, s.init);
    assert.equal(xml.status, 200);
    assert.match(
      xml.body.toString(),
      /^<\?xml .*<DescribeDiskExtentsResponse><RequestId>.*<Extents><Offset>0<\/Offset>/,
    );
    const bad = signV1(server, {
      Version: DATA_VERSION,
      Action: 'ReadDiskData',
      DiskId: 'd-nope',
      Offset: '0',
      Length: '1',
      Format: 'XML',
    });
    const err = await sendRaw(bad.url, bad.init);
    assert.equal(err.status, 400);
    assert.match(err.body.toString(), /<Code>DiskIdNotFound<\/Code>/);
  });

  it('reads an available snapshot, refuses one still creating', async () => {
    const ens = pop(server);
    const snapshotId = await createSnapshot(ens, diskId);
    const status = (await describeSnapshots(ens, { SnapshotId: snapshotId })).items[0]?.Status;
    if (status === 'creating')
      await refused(client.readSnapshot(snapshotId, 0, 1), 'IncorrectInstanceStatus', 400);
    await waitSnapshotStatus(ens, snapshotId, 'available');
    assert.equal(sha256(await client.readSnapshot(snapshotId, 0, content.length)), sha256(content));
    const { sizeBytes, extents } = await client.snapshotExtents(snapshotId);
    assert.equal(sizeBytes, DISK_BYTES);
    assert.ok(extents.some((e) => e.offset === 0));
    await refused(client.readSnapshot(snapshotId, DISK_BYTES - 1, 2), 'InvalidParameter.Length', 400);
  });

  it('a snapshot holds the bytes of when CreateSnapshot returned, whatever is written during its copy', async () => {
    const ens = pop(server);
    const id = await createDisk(ens);
    const size = 96 * MiB;
    const before = randomBytes(size);
    await client.writeDisk(id, 0, before);
    const snapshotId = await createSnapshot(ens, id);
    // Overwrite everything while the copy runs, 1 MiB at a time.
    const after_ = randomBytes(size);
    let sawCreating = false;
    for (let at = 0; at < size; at += MiB) {
      await client.writeDisk(id, at, after_.subarray(at, at + MiB));
      if (at === 0) {
        const s = (await describeSnapshots(ens, { SnapshotId: snapshotId })).items[0]?.Status;
        sawCreating = s === 'creating';
      }
    }
    assert.ok(sawCreating, 'the copy was over before the first write: make the disk bigger');
    await waitFor(
      () => describeSnapshots(ens, { SnapshotId: snapshotId }),
      (r) => r.items[0]?.Status === 'available',
      'snapshot available',
      30_000,
    );
    assert.equal(sha256(await client.readSnapshot(snapshotId, 0, size)), sha256(before));
    assert.equal(sha256(await client.readDisk(id, 0, size)), sha256(after_));
  });

  it('refuses a disk that is being deleted', async () => {
    const ens = pop(server);
    const id = await createDisk(ens);
    await ens.call('DeleteDisk', { DiskId: id });
    // Deleting, or gone already.
    await assert.rejects(client.writeDisk(id, 0, Buffer.alloc(10, 1)), (e: unknown) => {
      assert.ok(e instanceof EnsnapError);
      assert.ok(['IncorrectStatus.Disk', 'DiskIdNotFound'].includes(e.code), e.code);
      return true;
    });
  });

  it('VerifyStorage reports a clean store, then the damage and the snapshots it affects', async () => {
    const clean = await client.verify();
    assert.deepEqual(clean.problems, []);
    assert.ok(clean.chunks > 0 && clean.snapshots > 0);

    const ens = pop(server);
    const id = await createDisk(ens);
    const image = makeImage(4 * MiB);
    await client.writeDisk(id, 0, image);
    const snapshotId = await createSnapshot(ens, id);
    await waitSnapshotStatus(ens, snapshotId, 'available');
    // Corrupt one byte in the middle of the newest pack (the snapshot's own chunks).
    const packs = await listPacks(path.join(server.dataDir, 'chunks', 'packs'));
    const newest = (await Promise.all(packs.map(async (p) => ({ p, t: (await stat(p)).mtimeMs })))).sort(
      (a, b) => b.t - a.t,
    )[0]?.p as string;
    const bytes = await readFile(newest);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0xff;
    await writeFile(newest, bytes);

    const report = await client.verify();
    assert.ok(report.problems.length > 0);
    assert.ok(
      report.problems.some((p) => p.snapshotIds.includes(snapshotId)),
      JSON.stringify(report.problems),
    );
    // Damaged data is never served: a clear 500-class error instead.
    await refused(client.readSnapshot(snapshotId, 0, 4 * MiB), 'StoredDataDamaged', 500);
    // The live disk is not affected.
    assert.equal(sha256(await client.readDisk(id, 0, image.length)), sha256(image));
  });
});

async function listPacks(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listPacks(full)));
    else if (entry.name.endsWith('.pack')) out.push(full);
  }
  return out;
}
