// The `ensnap` CLI as a user runs it: child processes of dist/src/cli/main.js against a real
// server, disks and snapshots made through the official SDK. An image goes in, snapshots and
// disks come out byte for byte and sparse; verify finds damage; Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EnsnapClient } from '../../src/client/ensnap-client.js';
import { ensnap } from '../helpers/cli.js';
import { cliEnv, type Running, startEnsnap } from '../helpers/ensnap.js';
import { createDisk, createSnapshot, pop, waitSnapshotStatus } from '../helpers/fixtures.js';
import { assertFileHolds, GiB, KiB, makeImage, MiB, sha256 } from '../helpers/images.js';

const DISK_BYTES = 20 * GiB;

describe('ensnap CLI', () => {
  let server: Running;
  let env: Record<string, string>;
  let client: EnsnapClient;
  let dir: string;
  const run = (...args: string[]) => ensnap(args, env).done;

  before(async () => {
    server = await startEnsnap();
    env = cliEnv(server);
    client = new EnsnapClient({
      endpoint: server.endpoint,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    });
    dir = await mkdtemp(path.join(tmpdir(), 'ensnap-cli-'));
  });
  after(async () => {
    client.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('import → snapshot → more writes → exports equal the snapshot and the disk, sparse', async () => {
    const ens = pop(server);
    const diskId = await createDisk(ens);
    const image = makeImage(8 * MiB);
    const imageFile = path.join(dir, 'image.raw');
    await writeFile(imageFile, image);

    const imported = await run('disk', 'import', diskId, imageFile);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported .* \(8\.0 MiB\) into d-/);
    // Not a terminal: plain progress lines.
    assert.match(imported.stderr, /import image\.raw → d-\S+: 8\.0 MiB in /);
    assert.ok(!imported.stderr.includes('\r') && !imported.stderr.includes('\u001b['), imported.stderr);

    const snapshotId = await createSnapshot(ens, diskId);
    await waitSnapshotStatus(ens, snapshotId, 'available');

    // More writes after the snapshot: into a hole, over data, and past the image.
    const current = Buffer.alloc(12 * MiB);
    image.copy(current);
    const more: [number, Buffer][] = [
      [1 * MiB + 300 * KiB, randomBytes(100 * KiB)],
      [0, Buffer.alloc(64 * KiB, 'over')],
      [10 * MiB, randomBytes(MiB)],
    ];
    for (const [at, data] of more) {
      await client.writeDisk(diskId, at, data);
      data.copy(current, at);
    }

    const snapFile = path.join(dir, 'snapshot.raw');
    const snapExport = await run('snapshot', 'export', snapshotId, snapFile);
    assert.equal(snapExport.code, 0, snapExport.stderr);
    assert.match(snapExport.stdout, /exported .* 20\.0 GiB/);
    await assertFileHolds(snapFile, image, DISK_BYTES);
    assert.equal(existsSync(`${snapFile}.part`), false);

    const diskFile = path.join(dir, 'disk.raw');
    const diskExport = await run('disk', 'export', diskId, diskFile);
    assert.equal(diskExport.code, 0, diskExport.stderr);
    await assertFileHolds(diskFile, current, DISK_BYTES);

    // A disk made from the snapshot (SDK) holds the snapshot.
    const restored = await createDisk(ens, { SnapshotId: snapshotId });
    const restoredFile = path.join(dir, 'restored.raw');
    const restoredExport = await run('disk', 'export', restored, restoredFile);
    assert.equal(restoredExport.code, 0, restoredExport.stderr);
    await assertFileHolds(restoredFile, image, DISK_BYTES);

    // Importing again writes zeros where the disk holds data and the image has none.
    const second = Buffer.alloc(12 * MiB);
    randomBytes(MiB).copy(second, 5 * MiB);
    const secondFile = path.join(dir, 'second.raw');
    await writeFile(secondFile, second);
    const reimport = await run('disk', 'import', diskId, secondFile);
    assert.equal(reimport.code, 0, reimport.stderr);
    assert.equal(sha256(await client.readDisk(diskId, 0, second.length)), sha256(second));
    await Promise.all([snapFile, diskFile, restoredFile].map((f) => rm(f)));
  });

  it('refuses an image larger than the disk, unknown ids, and bad settings', async () => {
    const missing = await run('disk', 'export', 'd-doesnotexist0000000000000', path.join(dir, 'x.raw'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /DiskIdNotFound/);
    assert.equal(existsSync(path.join(dir, 'x.raw')), false);
    assert.equal(existsSync(path.join(dir, 'x.raw.part')), false);

    const snap = await run('snapshot', 'export', 's-doesnotexist', path.join(dir, 'y.raw'));
    assert.equal(snap.code, 1);
    assert.match(snap.stderr, /SnapshotIdNotFound/);

    for (const name of ['ENSNAP_ENDPOINT', 'ENSNAP_ACCESS_KEY_ID', 'ENSNAP_ACCESS_KEY_SECRET']) {
      const r = await ensnap(['verify'], { ...env, [name]: undefined }).done;
      assert.equal(r.code, 2, name);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(name));
    }
    const badUrl = await ensnap(['verify'], { ...env, ENSNAP_ENDPOINT: 'localhost:1' }).done;
    assert.equal(badUrl.code, 2);
    const wrongSecret = await ensnap(['verify'], { ...env, ENSNAP_ACCESS_KEY_SECRET: 'wrong' }).done;
    assert.equal(wrongSecret.code, 1);
    assert.match(wrongSecret.stderr, /SignatureDoesNotMatch/);
    const usage = await run('disk', 'export', 'only-one-argument');
    assert.equal(usage.code, 2);
    const unknown = await run('disk', 'frobnicate');
    assert.equal(unknown.code, 2);
  });

  it('documents every command in --help', async () => {
    const top = await run('--help');
    assert.equal(top.code, 0);
    for (const command of [
      'serve',
      'disk import',
      'disk export',
      'snapshot export',
      'verify',
      'ENSNAP_ENDPOINT',
    ])
      assert.ok(top.stdout.includes(command), command);
    for (const args of [
      ['disk', '--help'],
      ['snapshot', '--help'],
      ['verify', '--help'],
      ['serve', '--help'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^usage: ensnap /, args.join(' '));
    }
    assert.match((await run('disk', 'export', '--help')).stdout, /sparse/);
  });

  it('Ctrl-C during an export leaves neither the .part nor the file', async () => {
    const ens = pop(server);
    const diskId = await createDisk(ens);
    await client.writeDisk(diskId, 0, randomBytes(256 * MiB));
    const file = path.join(dir, 'interrupted.raw');
    let signalled = false;
    const { child, done } = ensnap(['disk', 'export', diskId, file], env);
    // As soon as the .part exists, interrupt.
    while (!existsSync(`${file}.part`)) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    if (child.exitCode === null) {
      child.kill('SIGINT');
      signalled = true;
    }
    const r = await done;
    assert.ok(signalled, 'the export finished before it could be interrupted');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    assert.equal(existsSync(`${file}.part`), false);
    assert.equal(existsSync(file), false);
  });

  it('verify exits 0 on a clean store, 1 with the affected snapshots after a pack is damaged', async () => {
    const clean = await run('verify');
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^OK: \d+ chunks/m);

    const ens = pop(server);
    const diskId = await createDisk(ens);
    await client.writeDisk(diskId, 0, makeImage(4 * MiB));
    const snapshotId = await createSnapshot(ens, diskId);
    await waitSnapshotStatus(ens, snapshotId, 'available');
    const packs = await packsByAge(path.join(server.dataDir, 'chunks', 'packs'));
    const newest = packs[0] as string;
    const bytes = await readFile(newest);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x01;
    await writeFile(newest, bytes);

    const damaged = await run('verify');
    assert.equal(damaged.code, 1, damaged.stdout + damaged.stderr);
    assert.match(damaged.stdout, /^PROBLEM (chunk|manifest (root|page)) .*[0-9a-f]{64}/m);
    assert.ok(damaged.stdout.includes(snapshotId), damaged.stdout);
    assert.match(damaged.stdout, /problem\(s\)/);

    // Its export fails cleanly: a clear error, no file, no .part.
    const file = path.join(dir, 'damaged.raw');
    const exported = await run('snapshot', 'export', snapshotId, file);
    assert.equal(exported.code, 1);
    assert.match(exported.stderr, /StoredDataDamaged/);
    assert.equal(existsSync(file), false);
    assert.equal(existsSync(`${file}.part`), false);
  });
});

async function packsByAge(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.pack')) found.push(full);
    }
  };
  await walk(dir);
  const withTimes = await Promise.all(found.map(async (f) => ({ f, t: (await stat(f)).mtimeMs })));
  return withTimes.sort((a, b) => b.t - a.t).map((x) => x.f);
}
