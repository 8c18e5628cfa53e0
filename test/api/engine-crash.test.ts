// The block engine under SIGKILL: a seeded random workload (writes, CreateSnapshot, restores by
// CreateDisk with SnapshotId and ResetDisk, DeleteSnapshot, DeleteDisk) against a real `ensnap
// serve` child process, killed at a random moment while requests and snapshot copies are in
// flight, then restarted on the same data directory, many times over. The test keeps a model of
// every disk (what each byte holds, updated only by acknowledged requests) and of every snapshot
// (the disk's content when CreateSnapshot was acknowledged), and after every restart checks:
//
// - no snapshot stays `creating`: each resumes and ends `available` (or `error`);
// - every `available` snapshot reads back byte for byte as its model, extents included;
// - every disk reads back as its model; a write the kill cut short left each 4 KiB page either
//   old or new, a restore the kill cut short left the disk either as it was or as the snapshot;
// - a snapshot or disk whose deletion was acknowledged never comes back;
// - VerifyStorage finds no problem (every chunk sound, every block a snapshot names present);
// - at the end, with everything deleted, the chunk store is empty (no reference leaked).
//
// ENSNAP_TEST_SEED replays a run (the seed is printed when it fails); ENSNAP_CRASH_ROUNDS sets the
// number of kills (default 10, about a minute on two cores). ENSNAP_CRASH_KEEP=<dir> keeps, for a
// post-mortem, the data directory as the last kill left it (before the restart), the server's
// output, and on failure every model image (`snap-<id>.bin`, `img-<id>.bin`) and the error.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EnsnapClient, EnsnapError, MAX_REQUEST_BYTES } from '../../src/client/ensnap-client.js';
import {
  ensSdk,
  listDisks,
  listSnapshots,
  Rng,
  sdkFailure,
  sleep,
  testSeed,
  type EnsSdk,
} from '../helpers/crash.js';
import { spawnEnsnap, tempDataDir, type Child } from '../helpers/ensnap.js';
import { REGION } from '../helpers/fixtures.js';
import { KiB, MiB } from '../helpers/images.js';

const ROUNDS = Number(process.env.ENSNAP_CRASH_ROUNDS ?? 10);
/** Where to keep the data directory as the last kill left it, and the model on failure. */
const KEEP = process.env.ENSNAP_CRASH_KEEP;
/** Each disk is 20 GiB (sparse); the test writes only its first 32 MiB, the rest stays a hole. */
const AREA = 32 * MiB;
const DISK_GIB = 20;
/** A write cut by the kill lands page by page: each page is old or new. */
const PAGE = 4 * KiB;
const MAX_DISKS = 3;
const MAX_SNAPSHOTS = 7;

interface DiskModel {
  id: string;
  content: Buffer;
}

type InFlight =
  | { kind: 'write'; diskId: string; offset: number; data: Buffer }
  | { kind: 'snapshot'; diskId: string; image: Buffer }
  | { kind: 'reset'; diskId: string; snapshotId: string }
  | { kind: 'create-disk'; snapshotId?: string }
  | { kind: 'delete-snapshot'; snapshotId: string }
  | { kind: 'delete-disk'; diskId: string };

/** Codes each kind of request may be refused with, without having changed anything. */
const REFUSALS: Record<InFlight['kind'], string[]> = {
  write: [],
  snapshot: [],
  // A snapshot of the disk still copying; the snapshot not available (yet, or any more).
  reset: ['IncorrectStatus.Disk', 'IncorrectInstanceStatus', 'SnapshotIdNotFound'],
  'create-disk': ['IncorrectInstanceStatus', 'SnapshotIdNotFound'],
  'delete-snapshot': ['IncorrectInstanceStatus'],
  'delete-disk': ['IncorrectStatus.Disk'],
};

class World {
  readonly disks = new Map<string, DiskModel>();
  /** Acknowledged snapshots not (acknowledged) deleted, with the image each must hold. */
  readonly snapshots = new Map<string, { diskId: string; image: Buffer }>();
  readonly deletedSnapshots = new Set<string>();
  readonly deletedDisks = new Set<string>();
  /** Requests the kill cut off: their outcome is settled after the restart. */
  uncertain: InFlight[] = [];
  readonly stats = {
    writes: 0,
    snapshots: 0,
    restores: 0,
    deletes: 0,
    refused: 0,
    cut: 0,
    cutWritesLanded: 0,
    errorSnapshots: 0,
    checkedSnapshots: 0,
  };
}

interface Session {
  child: Child;
  sdk: EnsSdk;
  data: EnsnapClient;
  killed: boolean;
}

/** The byte ranges of the requests EnsnapClient.writeDisk sends for one write. */
function requestRanges(offset: number, length: number): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0; at < length; at += MAX_REQUEST_BYTES)
    out.push([offset + at, offset + Math.min(length, at + MAX_REQUEST_BYTES)]);
  return out;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += PAGE) {
    const end = Math.min(n, i + PAGE);
    if (!a.subarray(i, end).equals(b.subarray(i, end))) {
      for (let j = i; j < end; j++) if (a[j] !== b[j]) return j;
    }
  }
  return a.length === b.length ? -1 : n;
}

function assertSame(actual: Buffer, expected: Buffer, what: string): void {
  const at = firstDifference(actual, expected);
  assert.equal(at, -1, `${what}: differs from its model at byte ${at}`);
}

async function start(dataDir: string): Promise<Session> {
  const child = await spawnEnsnap(dataDir);
  return {
    child,
    sdk: ensSdk(child),
    data: new EnsnapClient({
      endpoint: child.endpoint,
      accessKeyId: child.accessKeyId,
      accessKeySecret: child.accessKeySecret,
    }),
    killed: false,
  };
}

/** Waits until no snapshot is creating or deleting and no disk is deleting. */
async function quiesce(sdk: EnsSdk): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const snapshots = await listSnapshots(sdk);
    const disks = await listDisks(sdk);
    const busy = [
      ...[...snapshots].filter(([, s]) => s.status === 'creating' || s.status === 'deleting'),
      ...[...disks].filter(([, d]) => d.status === 'Deleting'),
    ];
    if (busy.length === 0) return;
    if (Date.now() > deadline) assert.fail(`still busy after the restart: ${JSON.stringify(busy)}`);
    await sleep(100);
  }
}

/** Every extent lies in the area the test writes; the rest of the disk is a hole. */
async function assertExtentsInArea(
  read: () => Promise<{ extents: { offset: number; length: number }[] }>,
  what: string,
): Promise<void> {
  const { extents } = await read();
  for (const e of extents) assert.ok(e.offset + e.length <= AREA, `${what}: extent ${JSON.stringify(e)}`);
}

/**
 * After a restart: settles what the kill cut off (against what the server now shows), then checks
 * every disk, every snapshot and the whole store against the model.
 */
async function settleAndCheck(s: Session, world: World): Promise<void> {
  await quiesce(s.sdk);
  const snapshots = await listSnapshots(s.sdk);
  const disks = await listDisks(s.sdk);
  const readArea = (diskId: string) => s.data.readDisk(diskId, 0, AREA);

  for (const op of world.uncertain) {
    switch (op.kind) {
      case 'write': {
        // Page by page, the old content or the new one; the model takes what is there.
        const model = world.disks.get(op.diskId) as DiskModel;
        const actual = await readArea(op.diskId);
        let landed = false;
        // The client sends a long write as requests of at most 16 MiB, each cut (or not) alone;
        // within one request, page by page.
        for (const [start, end] of requestRanges(op.offset, op.data.length))
          for (let page = Math.floor(start / PAGE) * PAGE; page < end; page += PAGE) {
            const from = Math.max(page, start);
            const to = Math.min(page + PAGE, end);
            const now = actual.subarray(from, to);
            if (now.equals(op.data.subarray(from - op.offset, to - op.offset))) {
              if (!now.equals(model.content.subarray(from, to))) landed = true;
              now.copy(model.content, from);
            } else {
              const old = model.content.subarray(from, to);
              const fresh = op.data.subarray(from - op.offset, to - op.offset);
              let asOld = 0;
              let asNew = 0;
              for (let i = 0; i < now.length; i++) {
                if (now[i] === old[i]) asOld++;
                if (now[i] === fresh[i]) asNew++;
              }
              assert.ok(
                now.equals(old),
                `disk ${op.diskId}: page at ${page} is neither the old content nor the cut write's ` +
                  `(write ${op.offset}+${op.data.length}; ${asOld} bytes as old, ${asNew} as new of ${now.length})`,
              );
            }
          }
        if (landed) world.stats.cutWritesLanded++;
        break;
      }
      case 'snapshot': {
        // Taken or not; if taken, it holds the disk's content of that moment.
        const known = new Set([...world.snapshots.keys(), ...world.deletedSnapshots]);
        const fresh = [...snapshots].filter(([id, v]) => v.diskId === op.diskId && !known.has(id));
        assert.ok(fresh.length <= 1, `one cut CreateSnapshot, ${fresh.length} new snapshots`);
        const [found] = fresh;
        if (found) {
          world.snapshots.set(found[0], { diskId: op.diskId, image: op.image });
          images.set(found[0], op.image);
        }
        break;
      }
      case 'reset': {
        const model = world.disks.get(op.diskId) as DiskModel;
        const image = world.snapshots.get(op.snapshotId)?.image ?? imageOf(world, op.snapshotId);
        const actual = await readArea(op.diskId);
        if (!actual.equals(model.content)) {
          assertSame(actual, image, `disk ${op.diskId} after a cut ResetDisk (neither old nor the snapshot)`);
          model.content = Buffer.from(image);
        }
        break;
      }
      case 'create-disk': {
        const fresh = [...disks].filter(([id]) => !world.disks.has(id) && !world.deletedDisks.has(id));
        assert.ok(fresh.length <= 1, `one cut CreateDisk, ${fresh.length} new disks`);
        const [found] = fresh;
        if (found) {
          assert.equal(found[1].snapshotId, op.snapshotId ?? '');
          const content = op.snapshotId ? Buffer.from(imageOf(world, op.snapshotId)) : Buffer.alloc(AREA);
          world.disks.set(found[0], { id: found[0], content });
        }
        break;
      }
      case 'delete-snapshot':
        if (!snapshots.has(op.snapshotId)) {
          world.snapshots.delete(op.snapshotId);
          world.deletedSnapshots.add(op.snapshotId);
        }
        break;
      case 'delete-disk':
        if (!disks.has(op.diskId)) {
          world.disks.delete(op.diskId);
          world.deletedDisks.add(op.diskId);
        }
        break;
    }
  }
  world.uncertain = [];

  // Snapshots: every one known, none creating, deleted ones gone, available ones exact.
  for (const [id, info] of snapshots) {
    assert.ok(!world.deletedSnapshots.has(id), `snapshot ${id} was deleted, yet it is back (${info.status})`);
    assert.ok(world.snapshots.has(id), `snapshot ${id} (${info.status}) is not one the test took`);
    assert.ok(['available', 'error'].includes(info.status), `snapshot ${id} is ${info.status}`);
  }
  for (const id of world.snapshots.keys())
    assert.ok(snapshots.has(id), `acknowledged snapshot ${id} is missing`);
  for (const [id, model] of world.snapshots) {
    const status = snapshots.get(id)?.status;
    if (status === 'error') {
      // Allowed ("resumes or ends error"), counted; the test lets it go.
      world.stats.errorSnapshots++;
      world.snapshots.delete(id);
      await s.sdk.call('DeleteSnapshot', { SnapshotId: id });
      world.deletedSnapshots.add(id);
      continue;
    }
    assertSame(await s.data.readSnapshot(id, 0, AREA), model.image, `snapshot ${id}`);
    await assertExtentsInArea(() => s.data.snapshotExtents(id), `snapshot ${id}`);
    world.stats.checkedSnapshots++;
  }

  // Disks: every acknowledged one there and exact, deleted ones gone.
  for (const id of disks.keys())
    assert.ok(
      world.disks.has(id),
      `disk ${id} is not one the test has (deleted: ${world.deletedDisks.has(id)})`,
    );
  for (const [id, model] of world.disks) {
    assert.equal(disks.get(id)?.status, 'Available', `disk ${id}`);
    assertSame(await readArea(id), model.content, `disk ${id}`);
    await assertExtentsInArea(() => s.data.diskExtents(id), `disk ${id}`);
  }

  const report = await s.data.verify();
  assert.deepEqual(report.problems, [], 'VerifyStorage found problems');
}

/** The image of a snapshot the test knows, deleted or not (restores keep images of deleted ones). */
const images = new Map<string, Buffer>();
function imageOf(world: World, snapshotId: string): Buffer {
  const image = world.snapshots.get(snapshotId)?.image ?? images.get(snapshotId);
  assert.ok(image, `no image for snapshot ${snapshotId}`);
  return image;
}

/**
 * Runs one request of the workload: the model changes only when it is acknowledged; a clean
 * refusal changes nothing; a request the kill cut off goes to `uncertain`.
 */
async function attempt(
  s: Session,
  world: World,
  op: InFlight,
  send: () => Promise<void>,
): Promise<'done' | 'refused' | 'cut'> {
  try {
    await send();
    return 'done';
  } catch (error) {
    const failure =
      error instanceof EnsnapError
        ? { code: error.status === 0 ? undefined : error.code, message: error.message }
        : sdkFailure(error);
    if (failure.code === undefined && s.killed) {
      world.uncertain.push(op);
      world.stats.cut++;
      return 'cut';
    }
    if (failure.code !== undefined && REFUSALS[op.kind].includes(failure.code)) {
      world.stats.refused++;
      return 'refused';
    }
    throw new Error(`${op.kind} failed unexpectedly: ${failure.code ?? 'no answer'}: ${failure.message}`, {
      cause: error,
    });
  }
}

async function createDiskOp(s: Session, world: World, rng: Rng, lanes: Lanes): Promise<void> {
  const sources = [...world.snapshots.keys()];
  const snapshotId = sources.length > 0 && rng.chance(0.6) ? rng.pick(sources) : undefined;
  const image = snapshotId ? imageOf(world, snapshotId) : undefined;
  let id = '';
  const op: InFlight = { kind: 'create-disk', snapshotId };
  const outcome = await attempt(s, world, op, async () => {
    const r = await s.sdk.call('CreateDisk', {
      EnsRegionId: REGION,
      Category: 'cloud_ssd',
      InstanceChargeType: 'PostPaid',
      Size: DISK_GIB,
      SnapshotId: snapshotId,
    });
    id = (r.InstanceIds as string[])[0] as string;
  });
  if (outcome !== 'done') return;
  world.stats.restores += snapshotId ? 1 : 0;
  world.disks.set(id, { id, content: image ? Buffer.from(image) : Buffer.alloc(AREA) });
  lanes.start(id);
}

interface Lanes {
  start(diskId: string): void;
}

/** One disk's requests, one at a time (so that its model is exact), until the kill. */
async function diskLane(s: Session, world: World, rng: Rng, diskId: string): Promise<void> {
  while (!s.killed) {
    const model = world.disks.get(diskId);
    if (!model) return;
    const roll = rng.next();
    if (roll < 0.5) {
      // A write: mostly page-aligned, sometimes not; up to 24 MiB (more than one request).
      const big = rng.chance(0.15);
      const length = big ? rng.int(8 * MiB, 24 * MiB) : rng.int(1, 2048) * PAGE - (rng.chance(0.2) ? 7 : 0);
      const offset = Math.min(
        AREA - length,
        rng.int(0, AREA / PAGE - 1) * PAGE + (rng.chance(0.2) ? rng.int(1, 511) : 0),
      );
      // A third of them text-like: blocks stored as their sectors, sectors shared.
      const data = rng.chance(0.3) ? rng.text(length) : rng.bytes(length);
      const op: InFlight = { kind: 'write', diskId, offset, data };
      if ((await attempt(s, world, op, () => s.data.writeDisk(diskId, offset, data))) === 'done') {
        data.copy(model.content, offset);
        world.stats.writes++;
      }
    } else if (roll < 0.72) {
      if (world.snapshots.size >= MAX_SNAPSHOTS) continue;
      const image = Buffer.from(model.content);
      const op: InFlight = { kind: 'snapshot', diskId, image };
      let id = '';
      const outcome = await attempt(s, world, op, async () => {
        const r = await s.sdk.call('CreateSnapshot', { EnsRegionId: REGION, DiskId: diskId });
        id = r.SnapShotId as string;
      });
      if (outcome === 'done') {
        world.snapshots.set(id, { diskId, image });
        images.set(id, image);
        world.stats.snapshots++;
      }
    } else if (roll < 0.85) {
      const own = [...world.snapshots].filter(([, v]) => v.diskId === diskId).map(([id]) => id);
      if (own.length === 0) continue;
      const snapshotId = rng.pick(own);
      const image = imageOf(world, snapshotId);
      const op: InFlight = { kind: 'reset', diskId, snapshotId };
      const outcome = await attempt(s, world, op, async () => {
        await s.sdk.call('ResetDisk', { DiskId: diskId, SnapshotId: snapshotId });
      });
      if (outcome === 'done') {
        model.content = Buffer.from(image);
        world.stats.restores++;
      }
    } else if (roll < 0.9 && world.disks.size > 1) {
      const op: InFlight = { kind: 'delete-disk', diskId };
      const outcome = await attempt(s, world, op, async () => {
        await s.sdk.call('DeleteDisk', { DiskId: diskId });
      });
      if (outcome === 'done') {
        world.disks.delete(diskId);
        world.deletedDisks.add(diskId);
        world.stats.deletes++;
        return;
      }
      if (outcome === 'cut') return;
    } else {
      await sleep(rng.int(0, 50));
    }
  }
}

/** Creates disks (empty or from snapshots) and deletes snapshots, until the kill. */
async function controlLane(s: Session, world: World, rng: Rng, lanes: Lanes): Promise<void> {
  while (!s.killed) {
    await sleep(rng.int(20, 200));
    if (s.killed) return;
    if (world.disks.size < MAX_DISKS && rng.chance(0.3)) {
      await createDiskOp(s, world, rng, lanes);
    } else if (
      world.snapshots.size > 0 &&
      rng.chance(world.snapshots.size >= MAX_SNAPSHOTS - 1 ? 0.8 : 0.3)
    ) {
      const snapshotId = rng.pick([...world.snapshots.keys()]);
      const op: InFlight = { kind: 'delete-snapshot', snapshotId };
      const outcome = await attempt(s, world, op, async () => {
        await s.sdk.call('DeleteSnapshot', { SnapshotId: snapshotId });
      });
      if (outcome === 'done') {
        world.snapshots.delete(snapshotId);
        world.deletedSnapshots.add(snapshotId);
        world.stats.deletes++;
      }
    }
  }
}

async function listPacks(dataDir: string): Promise<string[]> {
  const root = path.join(dataDir, 'chunks', 'packs');
  const out: string[] = [];
  for (const dir of await readdir(root).catch(() => [] as string[]))
    for (const name of await readdir(path.join(root, dir))) out.push(`${dir}/${name}`);
  return out;
}

describe('block engine under SIGKILL', () => {
  const dataDir = tempDataDir();
  after(() => rm(dataDir, { recursive: true, force: true }));

  it(`keeps every acknowledged byte and snapshot across ${ROUNDS} kills at random moments`, async (t) => {
    const seed = testSeed();
    const rng = new Rng(seed);
    const world = new World();
    const started = Date.now();
    let session: Session | undefined;
    let round = 0;
    try {
      session = await start(dataDir);
      // Two disks with data to start from.
      for (let i = 0; i < 2; i++) {
        const r = await session.sdk.call('CreateDisk', {
          EnsRegionId: REGION,
          Category: 'cloud_ssd',
          InstanceChargeType: 'PostPaid',
          Size: DISK_GIB,
        });
        const id = (r.InstanceIds as string[])[0] as string;
        const content = Buffer.alloc(AREA);
        rng.bytes(rng.int(8, 24) * MiB).copy(content, 0);
        await session.data.writeDisk(id, 0, content);
        world.disks.set(id, { id, content });
      }

      for (round = 0; round < ROUNDS; round++) {
        const s: Session = session;
        const running = new Set<Promise<void>>();
        const lanes: Lanes = {
          start(diskId) {
            const lane = diskLane(s, world, rng, diskId);
            running.add(lane);
          },
        };
        for (const id of world.disks.keys()) lanes.start(id);
        running.add(controlLane(s, world, rng, lanes));
        // Sometimes at once (requests barely sent), mostly while writes, copies and restores run.
        const delay = rng.chance(0.2) ? rng.int(0, 40) : rng.int(150, 2500);
        await sleep(delay);
        s.killed = true;
        s.child.process.kill('SIGKILL');
        assert.equal(await s.child.exited, 'SIGKILL');
        // Every lane ends: each request answered before the kill or cut off by it.
        while (running.size > 0) {
          const settled = [...running];
          const results = await Promise.allSettled(settled);
          settled.forEach((p) => running.delete(p));
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw (failed as PromiseRejectedResult).reason;
        }
        s.data.close();
        if (KEEP) {
          rmSync(KEEP, { recursive: true, force: true });
          mkdirSync(KEEP, { recursive: true });
          execFileSync('cp', ['-a', '--sparse=always', dataDir, path.join(KEEP, 'pre')]);
          writeFileSync(path.join(KEEP, 'log-before.txt'), s.child.output());
        }

        session = await start(dataDir);
        await settleAndCheck(session, world);
        // Keep at least one disk to work on.
        if (world.disks.size === 0) await createDiskOp(session, world, rng, { start: () => undefined });
      }

      // Everything deleted: nothing may stay in the chunk store (no reference was leaked).
      const s = session;
      for (const id of world.snapshots.keys()) await s.sdk.call('DeleteSnapshot', { SnapshotId: id });
      for (const id of world.disks.keys()) await s.sdk.call('DeleteDisk', { DiskId: id });
      await quiesce(s.sdk);
      const deadline = Date.now() + 10_000;
      while ((await listPacks(dataDir)).length > 0 && Date.now() < deadline) await sleep(100);
      assert.deepEqual(await listPacks(dataDir), [], 'packs left with nothing referring to them');
      assert.deepEqual((await s.data.verify()).problems, []);
      t.diagnostic(
        `seed ${seed}: ${ROUNDS} kills in ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(world.stats)}`,
      );
    } catch (error) {
      if (KEEP) {
        for (const [id, m] of world.snapshots) writeFileSync(path.join(KEEP, `snap-${id}.bin`), m.image);
        for (const [id, m] of images) writeFileSync(path.join(KEEP, `img-${id}.bin`), m);
        if (session) writeFileSync(path.join(KEEP, 'log-after.txt'), session.child.output());
        writeFileSync(path.join(KEEP, 'error.txt'), String(error));
      }
      const stats = JSON.stringify(world.stats);
      throw new Error(
        `engine crash test failed in round ${round} (replay: ENSNAP_TEST_SEED=${seed}; ${stats}): ${String(error)}`,
        { cause: error },
      );
    } finally {
      if (session) {
        session.data.close();
        if (session.child.process.exitCode === null && !session.killed) {
          session.child.process.kill('SIGTERM');
          await session.child.exited;
        }
      }
    }
  });
});
