// The ensnap side of the snapshot benchmark: the real server as a child process, driven through
// the provider's SDK (pop-core) for the API, the `ensnap` CLI for bulk import/export, and the
// block-data client for reads and writes.
//
// Every run (one warmup, then RUNS) starts a fresh server on a fresh data directory:
//   1. CreateDisk (the image's size, at least the API's minimum of 20 GiB) and
//      `ensnap disk import DISK IMG` (not timed), then `sync`;
//   2. full snapshot: CreateSnapshot -> DescribeSnapshots shows `available` (polled every 20 ms);
//      stored bytes = apparent size of DATA_DIR/chunks;
//   3. the 1% modification through `writeDisk` (not timed), `sync`, then the incremental snapshot,
//      timed the same way; bytes added to DATA_DIR/chunks;
//   4. restore: CreateDisk with SnapshotId (the full snapshot) -> the first `readDisk(0, 4096)`
//      returns (first-read latency; the bytes are checked), -> DescribeDiskExtents says the
//      background restore has copied every block in (`Restoring: false`): the background copy;
//   5. export: `ensnap snapshot export SNAPSHOT FILE` (timed, flushed to disk), then its sha256
//      is compared with the image's (not timed).
// After the last run, on the same server: CreateSnapshot API latency, 1000 sequential calls on the
// image's disk and 1000 on a 500 GiB sparse disk with a few MiB written, alternating call by call
// (every 20 pairs wait until their snapshots are available, so the job queue stays short); and the
// first read of a disk created from a snapshot of the 500 GiB disk. The server's peak RSS
// (VmHWM) is read from /proc before each server stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { EnsnapClient } from '../../src/client/ensnap-client.js';
import { DISK_SIZE_GIB } from '../../src/operations/ens/rules.js';
import {
  apparentSize,
  cleanEnv,
  CommandError,
  errorText,
  exited,
  freePort,
  percentile,
  run,
  sha256File,
  sleep,
  stopChild,
  syncDisks,
  track,
  type Figure,
} from './common.js';
import { MiB, SeededRandom } from './image.js';
import type { Modification } from './modify.js';

const GiB = 1024 * MiB;
const REGION = 'cn-beijing-15';
const API_VERSION = '2017-11-10';
const KEY = { id: 'LTAIbenchSnapKey0001', secret: 'benchSnapSecret0001' };
const POLL_MS = 20;
const WAIT_LIMIT_MS = 30 * 60_000;
/** Writes go to the API in pieces of at most this size, a few at a time. */
const WRITE_PIECE = 512 * 1024;
const WRITE_CONCURRENCY = 8;
export const SPARSE_DISK_GIB = 500;

export interface EnsnapOptions {
  /** The project root (dist/src/cli/main.js lives under it). */
  root: string;
  /** A directory of its own inside the benchmark's temp dir. */
  dir: string;
  image: string;
  imageBytes: number;
  imageSha256: string;
  modification: Modification;
  runs: number;
  /** CreateSnapshot calls per disk for the latency figures. */
  latencyCalls: number;
}

/** A feature the benchmark needs is missing from this build of ensnap. */
export class EnsnapUnavailable extends Error {}

type Json = Record<string, unknown>;

const PopClient = (RPCClient as unknown as { RPCClient: typeof RPCClient }).RPCClient;

/** One `ensnap serve` child on its own port and data directory. */
export class Server {
  private out = '';
  readonly endpoint: string;
  readonly sdk: RPCClient;
  readonly client: EnsnapClient;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
    readonly main: string,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.sdk = new PopClient({
      endpoint: this.endpoint,
      apiVersion: API_VERSION,
      accessKeyId: KEY.id,
      accessKeySecret: KEY.secret,
    });
    this.client = new EnsnapClient({
      endpoint: this.endpoint,
      accessKeyId: KEY.id,
      accessKeySecret: KEY.secret,
    });
    const collect = (chunk: Buffer) => {
      this.out += chunk.toString();
      if (this.out.length > 128 * 1024) this.out = this.out.slice(-64 * 1024);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  output(): string {
    return this.out.trim().slice(-3000);
  }

  static async start(main: string, dataDir: string): Promise<Server> {
    await mkdir(dataDir, { recursive: true });
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv('ENSNAP_'),
      ENSNAP_HOST: '127.0.0.1',
      ENSNAP_PORT: String(port),
      ENSNAP_DATA_DIR: dataDir,
      ENSNAP_ROOT_ACCESS_KEY_ID: KEY.id,
      ENSNAP_ROOT_ACCESS_KEY_SECRET: KEY.secret,
      ENSNAP_LOG_LEVEL: 'warn',
      // The latency figure takes hundreds of snapshots of one disk: no per-disk quota.
      ENSNAP_SNAPSHOTS_PER_DISK: '0',
      // As `npm start` runs the server (docs/storage.md, "Memory").
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    };
    const child = track(spawn(process.execPath, [main, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const server = new Server(child, port, dataDir, main);
    const deadline = Date.now() + 30_000;
    while (!/listening on http:\/\//.test(server.out)) {
      if (exited(child)) throw new Error(`ensnap exited before it listened:\n${server.output()}`);
      if (Date.now() > deadline) throw new Error(`ensnap did not listen in 30 s:\n${server.output()}`);
      await sleep(20);
    }
    return server;
  }

  /** Peak resident memory so far (VmHWM), MiB; NaN when /proc does not say. */
  peakRssMib(): number {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
      return kb === undefined ? NaN : Number(kb) / 1024;
    } catch {
      return NaN;
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 30_000);
  }

  async call(action: string, params: Record<string, string>): Promise<Json> {
    try {
      return await this.sdk.request<Json>(action, params, { timeout: 120_000 });
    } catch (error) {
      const e = error as { code?: string; message?: string };
      throw new Error(`${action} failed: ${e.code ?? ''} ${e.message ?? String(error)}`.trim());
    }
  }

  /** `ensnap <args>` as a client of this server; resolves with its wall time in seconds. */
  async cli(args: string[]): Promise<number> {
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv('ENSNAP_'),
      ENSNAP_ENDPOINT: this.endpoint,
      ENSNAP_ACCESS_KEY_ID: KEY.id,
      ENSNAP_ACCESS_KEY_SECRET: KEY.secret,
    };
    try {
      return (await run(process.execPath, [this.main, ...args], { env })).seconds;
    } catch (error) {
      if (error instanceof CommandError && error.code === 2 && /usage: ensnap serve/.test(error.output)) {
        throw new EnsnapUnavailable(
          `this build of ensnap has no \`ensnap ${args.slice(0, 2).join(' ')}\` command yet (the block ` +
            `engine and its CLI are not merged); ensnap's figures cannot be measured`,
        );
      }
      throw error;
    }
  }

  async createDisk(params: Record<string, string>): Promise<string> {
    const answer = await this.call('CreateDisk', {
      InstanceChargeType: 'PostPaid',
      EnsRegionId: REGION,
      Category: 'cloud_efficiency',
      ...params,
    });
    const id = (answer.InstanceIds as unknown[] | undefined)?.[0];
    if (typeof id !== 'string') throw new Error(`CreateDisk gave no disk id: ${JSON.stringify(answer)}`);
    return id;
  }

  async createSnapshot(diskId: string): Promise<string> {
    const answer = await this.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: REGION });
    const id = answer.SnapShotId;
    if (typeof id !== 'string')
      throw new Error(`CreateSnapshot gave no SnapShotId: ${JSON.stringify(answer)}`);
    return id;
  }

  /** Waits until every listed snapshot is `available` (polling DescribeSnapshots every 20 ms). */
  async waitSnapshots(ids: string[]): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      const answer = await this.call('DescribeSnapshots', {
        SnapshotId: JSON.stringify(ids),
        PageSize: '100',
      });
      // DescribeSnapshots answers `Snapshots` as a plain array of snapshot objects.
      const list = (answer.Snapshots as Json[] | undefined) ?? [];
      const failed = list.find((s) => s.Status === 'error');
      if (failed) throw new Error(`snapshot ${String(failed.SnapshotId)} went to status error`);
      if (list.length === ids.length && list.every((s) => s.Status === 'available')) return;
      if (Date.now() > deadline) throw new Error(`snapshots not available after 30 min: ${ids.join(',')}`);
      await sleep(POLL_MS);
    }
  }

  /** Waits until DescribeDisks shows the disk hydrated (see `hydrated`). */
  /** Until the disk's background restore has copied every block of its snapshot in. */
  async waitHydrated(diskId: string): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      const extents = await this.client.diskExtents(diskId);
      if (extents.restoring === false) return;
      if (Date.now() > deadline) throw new Error(`disk ${diskId} not restored after 30 min`);
      await sleep(POLL_MS);
    }
  }

  async chunkBytes(): Promise<number> {
    const dir = path.join(this.dataDir, 'chunks');
    if (!existsSync(dir)) {
      throw new EnsnapUnavailable(`ensnap keeps no chunk store in <data dir>/chunks (no block engine yet)`);
    }
    return apparentSize(dir);
  }

  async write(diskId: string, writes: { offset: number; data: Buffer }[]): Promise<void> {
    const pieces: { offset: number; data: Buffer }[] = [];
    for (const w of writes) {
      for (let at = 0; at < w.data.length; at += WRITE_PIECE) {
        pieces.push({ offset: w.offset + at, data: w.data.subarray(at, at + WRITE_PIECE) });
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < pieces.length) {
        const piece = pieces[next++] as { offset: number; data: Buffer };
        await clientCall('writeDisk', () => this.client.writeDisk(diskId, piece.offset, piece.data));
      }
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
  }

  /**
   * CreateDisk from `snapshotId`, then the first 4 KiB read: milliseconds from the CreateDisk call
   * to the read's answer. The read is retried (5 ms apart, up to 30 s) while the disk is not ready.
   */
  async firstRead(
    snapshotId: string,
    expected: Buffer,
  ): Promise<{ ms: number; diskId: string; started: number }> {
    const started = performance.now();
    const diskId = await this.createDisk({ SnapshotId: snapshotId });
    let data: Buffer | undefined;
    for (;;) {
      try {
        data = await clientCall('readDisk', () => this.client.readDisk(diskId, 0, 4096));
        break;
      } catch (error) {
        if (error instanceof EnsnapUnavailable || performance.now() - started > 30_000) throw error;
        await sleep(5);
      }
    }
    const ms = performance.now() - started;
    if (!data.equals(expected))
      throw new Error(`the first 4 KiB read from disk ${diskId} differ from the source`);
    return { ms, diskId, started };
  }
}

/** Calls the block-data client; its placeholder's `not implemented` becomes EnsnapUnavailable. */
async function clientCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (errorText(error) === 'not implemented') {
      throw new EnsnapUnavailable(
        `EnsnapClient.${what} is not implemented in this build (src/client/ensnap-client.ts is the ` +
          `placeholder until the block engine is merged)`,
      );
    }
    throw error;
  }
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, offset);
    return buf;
  } finally {
    await handle.close();
  }
}

export class EnsnapRunner {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  private readonly main: string;
  private peakRss = 0;

  constructor(private readonly o: EnsnapOptions) {
    this.main = path.join(o.root, 'dist/src/cli/main.js');
  }

  private get diskGib(): number {
    return Math.max(DISK_SIZE_GIB.min, Math.ceil(this.o.imageBytes / GiB));
  }

  private notePeak(server: Server): void {
    const rss = server.peakRssMib();
    if (Number.isFinite(rss)) this.peakRss = Math.max(this.peakRss, rss);
  }

  async run(): Promise<void> {
    if (!existsSync(this.main)) throw new EnsnapUnavailable(`${this.main} is missing: run \`npm run build\``);
    const series: Record<string, number[]> = {};
    const push = (key: string, v: number) => (series[key] ??= []).push(v);
    const firstBlock = await readAt(this.o.image, 0, 4096);
    let server: Server | undefined;
    let imageDisk = '';
    try {
      for (let i = -1; i < this.o.runs; i++) {
        const tag = i < 0 ? 'warmup' : `run ${i + 1}/${this.o.runs}`;
        if (server) {
          this.notePeak(server);
          await server.stop();
        }
        await rm(path.join(this.o.dir, 'data'), { recursive: true, force: true });
        server = await Server.start(this.main, path.join(this.o.dir, 'data'));
        const r = await this.oneRun(server, firstBlock);
        imageDisk = r.diskId;
        console.log(
          `  ensnap ${tag}: import ${r.importS.toFixed(2)} s, full ${r.fullS.toFixed(3)} s ` +
            `(${r.fullBytes} B stored), writes ${r.writeS.toFixed(2)} s, incremental ${r.incrS.toFixed(3)} s ` +
            `(+${r.addedBytes} B), first read ${r.firstReadMs.toFixed(1)} ms, hydrated ${r.hydratedS.toFixed(2)} s, ` +
            `export ${r.exportS.toFixed(2)} s; server peak RSS (MiB) after ${r.peaks.join(', ')}`,
        );
        if (i < 0) continue;
        push('full', r.fullS);
        push('fullBytes', r.fullBytes);
        push('incr', r.incrS);
        push('added', r.addedBytes);
        push('firstRead', r.firstReadMs);
        push('hydrated', r.hydratedS);
        push('export', r.exportS);
        push('import', r.importS);
        push('write', r.writeS);
      }
      if (!server) throw new Error('no run');
      const latency = await this.latencyPhase(server, imageDisk);
      this.notePeak(server);
      await server.stop();
      server = undefined;

      const add = (
        id: string,
        label: string,
        unit: Figure['unit'],
        values: number[] | undefined,
        note?: string,
      ) => this.figures.push({ id, label, unit, values: values ?? [], ...(note ? { note } : {}) });
      add('ensnap.full', 'ensnap: full snapshot (CreateSnapshot -> available)', 's', series.full);
      add('ensnap.full.bytes', 'ensnap: stored after full (<data>/chunks)', 'B', series.fullBytes);
      add('ensnap.incr', 'ensnap: incremental snapshot after the 1% change', 's', series.incr);
      add('ensnap.incr.added', 'ensnap: bytes added by the incremental', 'B', series.added);
      add('ensnap.restore.firstRead', 'ensnap: disk from snapshot, first 4 KiB read', 'ms', series.firstRead);
      add(
        'ensnap.restore.hydrated',
        'ensnap: disk from snapshot, background copy done (restore, durable)',
        's',
        series.hydrated,
      );
      add('ensnap.export', 'ensnap: snapshot export to a file, fsynced (not a target)', 's', series.export);
      add('ensnap.import', 'ensnap: disk import of the image (not a target)', 's', series.import);
      add('ensnap.write', 'ensnap: the 1% change through writeDisk (not a target)', 's', series.write);
      add(
        'ensnap.restore500.firstRead',
        `ensnap: ${SPARSE_DISK_GIB} GiB disk from snapshot, first 4 KiB read`,
        'ms',
        latency.firstRead500,
      );
      for (const [key, label] of [
        ['image', `${this.diskGib} GiB disk with the image`],
        ['sparse', `${SPARSE_DISK_GIB} GiB sparse disk`],
      ] as const) {
        const calls = latency[key];
        add(`ensnap.createSnapshot.${key}.p50`, `ensnap: CreateSnapshot p50, ${label}`, 'ms', [
          percentile(calls, 0.5),
        ]);
        add(
          `ensnap.createSnapshot.${key}.p99`,
          `ensnap: CreateSnapshot p99, ${label}`,
          'ms',
          [percentile(calls, 0.99)],
          `${calls.length} calls, max ${Math.max(...calls).toFixed(1)} ms`,
        );
      }
      add('ensnap.peakRss', 'ensnap: server peak RSS (VmHWM, max over servers)', 'MiB', [this.peakRss]);
    } finally {
      if (server) await server.stop();
    }
  }

  private async oneRun(server: Server, firstBlock: Buffer) {
    const diskId = await server.createDisk({ Size: String(this.diskGib) });
    const importS = await server.cli(['disk', 'import', diskId, this.o.image]);
    // The server's peak memory (VmHWM) after each phase, to tell which one sets it.
    const peaks: string[] = [];
    const peak = (phase: string) => peaks.push(`${phase} ${server.peakRssMib().toFixed(0)}`);
    peak('import');
    await syncDisks();

    let started = performance.now();
    const full = await server.createSnapshot(diskId);
    await server.waitSnapshots([full]);
    const fullS = (performance.now() - started) / 1000;
    const fullBytes = await server.chunkBytes();
    peak('full');

    started = performance.now();
    await server.write(diskId, this.o.modification.writes);
    const writeS = (performance.now() - started) / 1000;
    peak('writes');
    await syncDisks();

    started = performance.now();
    const incr = await server.createSnapshot(diskId);
    await server.waitSnapshots([incr]);
    const incrS = (performance.now() - started) / 1000;
    const addedBytes = (await server.chunkBytes()) - fullBytes;
    peak('incremental');
    await syncDisks();

    const restore = await server.firstRead(full, firstBlock);
    await server.waitHydrated(restore.diskId);
    const hydratedS = (performance.now() - restore.started) / 1000;
    peak('restore');

    const file = path.join(this.o.dir, 'export.img');
    await rm(file, { force: true });
    await syncDisks();
    const exportS = await server.cli(['snapshot', 'export', full, file]);
    peak('export');
    // The disk is at least 20 GiB (CreateDisk's minimum) with the image at its start: the export
    // must begin with the image, be the disk's size, and hold no more than the image's blocks
    // (the rest is holes, which read as zeros).
    const sum = await sha256File(file, this.o.imageBytes);
    const exported = await stat(file);
    await rm(file, { force: true });
    if (sum !== this.o.imageSha256)
      throw new Error(`the exported snapshot differs from the image (sha256 ${sum})`);
    if (exported.size !== this.diskGib * GiB)
      throw new Error(`the exported snapshot is ${exported.size} bytes, not the disk's size`);
    if (exported.blocks * 512 > this.o.imageBytes + 64 * 1024 * 1024)
      throw new Error(`the exported snapshot is not sparse (${exported.blocks * 512} bytes allocated)`);

    return {
      diskId,
      importS,
      fullS,
      fullBytes,
      writeS,
      incrS,
      addedBytes,
      firstReadMs: restore.ms,
      hydratedS,
      exportS,
      peaks,
    };
  }

  private async latencyPhase(server: Server, imageDisk: string) {
    // The sparse disk: a few MiB of random data at its start, middle and end.
    const sparse = await server.createDisk({ Size: String(SPARSE_DISK_GIB) });
    const rng = new SeededRandom('sparse-disk', 1);
    const size = SPARSE_DISK_GIB * GiB;
    const head = rng.bytes(4 * MiB);
    await server.write(sparse, [
      { offset: 0, data: head },
      { offset: size / 2, data: rng.bytes(4 * MiB) },
      { offset: size - 4 * MiB, data: rng.bytes(4 * MiB) },
    ]);
    await syncDisks();
    const calls = { image: [] as number[], sparse: [] as number[] };
    const disks = { image: imageDisk, sparse };
    // Untimed first calls per disk; then the two disks alternate call by call, so that whatever
    // disturbs this shared machine falls on both series alike. Every 20 pairs, the snapshots
    // taken must be available before the next calls.
    for (const key of ['image', 'sparse'] as const) {
      const ids = [await server.createSnapshot(disks[key]), await server.createSnapshot(disks[key])];
      await server.waitSnapshots(ids);
    }
    let sparseSnapshot = '';
    const pairsPerWait = 20;
    while (calls.image.length < this.o.latencyCalls) {
      const ids: string[] = [];
      for (let k = 0; k < pairsPerWait && calls.image.length < this.o.latencyCalls; k++) {
        for (const key of ['image', 'sparse'] as const) {
          const started = performance.now();
          const id = await server.createSnapshot(disks[key]);
          calls[key].push(performance.now() - started);
          ids.push(id);
          if (key === 'sparse' && !sparseSnapshot) sparseSnapshot = id;
        }
      }
      await server.waitSnapshots(ids);
    }
    const peakAfterCalls = server.peakRssMib();
    console.log(
      `  ensnap CreateSnapshot: ${calls.image.length} calls on the image disk p50 ${percentile(calls.image, 0.5).toFixed(2)} ` +
        `p99 ${percentile(calls.image, 0.99).toFixed(2)} ms; ${calls.sparse.length} on the ${SPARSE_DISK_GIB} GiB disk ` +
        `p50 ${percentile(calls.sparse, 0.5).toFixed(2)} p99 ${percentile(calls.sparse, 0.99).toFixed(2)} ms`,
    );
    const firstRead500: number[] = [];
    for (let i = -1; i < this.o.runs; i++) {
      const r = await server.firstRead(sparseSnapshot, head.subarray(0, 4096));
      if (i >= 0) firstRead500.push(r.ms);
    }
    console.log(
      `  ensnap ${SPARSE_DISK_GIB} GiB disk from snapshot, first read: ${firstRead500.map((v) => v.toFixed(1)).join(', ')} ms; ` +
        `server peak RSS (MiB) after the latency calls ${peakAfterCalls.toFixed(0)}, after these reads ${server.peakRssMib().toFixed(0)}`,
    );
    return { ...calls, firstRead500 };
  }
}
