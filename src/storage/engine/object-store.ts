// Where packs of chunks live. The chunk store sees only this interface, so the local directory
// (the default) and an S3-compatible bucket (a later backend) are interchangeable: objects are
// written once, whole and atomically, read by range, and deleted; nothing assumes a local file.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fdatasync,
  fsync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  write,
} from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { DIRECT_ALIGN, directWritable } from './direct-writer.js';

export interface ObjectStore {
  /**
   * Starts an object that is written as its parts come (a pack while it fills), so that most of it
   * is on the device by the time it is complete. Nothing is visible under `key` until the writer's
   * commit() resolves, and then it is durable.
   */
  create(key: string): ObjectWriter;
  /**
   * `length` bytes from `offset` (into the start of `into` when given, which must be that long);
   * throws ObjectMissing if the object is gone.
   */
  read(key: string, offset: number, length: number, into?: Buffer): Promise<Buffer>;
  size(key: string): Promise<number>;
  delete(key: string): Promise<void>;
  /** Every key under `prefix`. */
  list(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/** An object being written (ObjectStore.create). Used by one caller, once. */
export interface ObjectWriter {
  /**
   * Writes `part` after the parts before it; resolves once the writer is done with its memory
   * (the bytes are durable only at commit). For the fastest writes, parts are alignedBuffer()
   * memory, whole multiples of DIRECT_ALIGN long but for the last; their memory then extends to
   * the next multiple of DIRECT_ALIGN after it. A part that fails to be written fails commit().
   */
  append(part: Uint8Array): Promise<void>;
  /** Makes the object durable and visible under its key; on failure, leaves nothing behind. */
  commit(): Promise<void>;
  /** Drops what was written (after the writes under way end). */
  abort(): Promise<void>;
}

export class ObjectMissing extends Error {
  constructor(readonly key: string) {
    super(`object ${key} is missing`);
  }
}

/** Objects as files under a directory: written to tmp/, fsynced, renamed into place, dir fsynced. */
export class LocalDirectoryStore implements ObjectStore {
  private readonly handles = new Map<string, OpenObject>();
  private static readonly MAX_OPEN = 64;
  /** Whether this directory takes direct writes (until one is refused). */
  private direct = true;
  /** Directories made (or found) so far. */
  private readonly dirs = new Set<string>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(path.join(this.root, 'tmp'), { recursive: true });
    // Leftovers of writes a crash interrupted: never renamed, so never referenced.
    await rm(path.join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(path.join(this.root, 'tmp'), { recursive: true });
  }

  private file(key: string): string {
    return path.join(this.root, key);
  }

  create(key: string): ObjectWriter {
    return new LocalObjectWriter(this, key);
  }

  /** Whether files here are to be written with direct I/O (false once the file system refused). */
  get writesDirect(): boolean {
    return this.direct;
  }

  /** The file system refused direct I/O (tmpfs before Linux 6.6): the page cache from now on. */
  refusedDirect(): void {
    this.direct = false;
  }

  /** Renames a written, flushed temporary file into place as `key`, durably. */
  async place(temp: string, key: string): Promise<void> {
    const target = this.file(key);
    // The directory and the rename are done at once (metadata; see LocalObjectWriter on why).
    const dir = path.dirname(target);
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.dirs.add(dir);
    }
    try {
      renameSync(temp, target);
    } catch (error) {
      // The directory went meanwhile (removed by hand): made again.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dir, { recursive: true });
      renameSync(temp, target);
    }
    await syncDirectory(dir);
  }

  /** A new temporary file's name (in tmp/, emptied at start: a crash leaves nothing in use). */
  tempFile(): string {
    return path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
  }

  /**
   * An open handle for the object, kept for the next reads. Least recently opened handles are
   * closed beyond MAX_OPEN, but never one a read is using (closing it under a read would fail
   * that read with EBADF, which would look like damaged data).
   */
  private acquire(key: string): OpenObject {
    let entry = this.handles.get(key);
    if (entry === undefined) {
      const handle = open(this.file(key), 'r').catch((error: NodeJS.ErrnoException) => {
        if (this.handles.get(key) === entry) this.handles.delete(key);
        throw error.code === 'ENOENT' ? new ObjectMissing(key) : error;
      });
      entry = { handle, busy: 0, dropped: false };
      this.handles.set(key, entry);
    }
    entry.busy++;
    return entry;
  }

  private release(entry: OpenObject): void {
    entry.busy--;
    if (entry.dropped && entry.busy === 0) void entry.handle.then((h) => h.close()).catch(() => undefined);
    if (this.handles.size <= LocalDirectoryStore.MAX_OPEN) return;
    for (const [key, candidate] of this.handles) {
      if (this.handles.size <= LocalDirectoryStore.MAX_OPEN) break;
      if (candidate.busy > 0) continue;
      this.handles.delete(key);
      void candidate.handle.then((h) => h.close()).catch(() => undefined);
    }
  }

  async read(key: string, offset: number, length: number, into?: Buffer): Promise<Buffer> {
    const entry = this.acquire(key);
    try {
      const handle = await entry.handle;
      const out = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new ObjectMissing(`${key} (short read at ${offset + done})`);
        done += bytesRead;
      }
      return out;
    } finally {
      this.release(entry);
    }
  }

  async size(key: string): Promise<number> {
    try {
      return (await stat(this.file(key))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectMissing(key);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const entry = this.handles.get(key);
    if (entry) {
      this.handles.delete(key);
      // Closed now, or by the last read still using it.
      entry.dropped = true;
      if (entry.busy === 0) await entry.handle.then((h) => h.close()).catch(() => undefined);
    }
    await rm(this.file(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.root, dir), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const key = dir ? `${dir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(key);
        else out.push(key);
      }
    };
    await walk(prefix.replace(/\/$/, ''));
    return out;
  }

  async close(): Promise<void> {
    const entries = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(entries.map((e) => e.handle.then((h) => h.close()).catch(() => undefined)));
  }
}

interface OpenObject {
  handle: Promise<FileHandle>;
  /** Reads using it right now. */
  busy: number;
  /** Deleted while in use: the last read closes it. */
  dropped: boolean;
}

/**
 * An object of a LocalDirectoryStore being written: a temporary file in tmp/, each part written at
 * its offset as it comes (several at once), flushed and renamed into place at commit.
 *
 * Parts in aligned memory at aligned offsets are written with direct I/O, past the page cache:
 * on a VM, copying into page-cache memory the host has not backed yet, then writing it back, cost
 * several times the write itself. Others go through the page cache (the two never share a page:
 * a direct write covers whole pages that no other part touches).
 *
 * Only the writes and the flushes wait on the thread pool; the opens, the cut to length and the
 * close (metadata, tens of microseconds) are done at once. While a snapshot copy keeps the event
 * loop busy, each wait is seen to about 3 ms late: a pack put in ten waits (with the rename and
 * the directory's flush) took 28 ms, and two packs in flight could not keep up with the copy.
 */
class LocalObjectWriter implements ObjectWriter {
  private readonly temp: string;
  /** The file opened for direct writes, and for the others, each when first needed. */
  private directFd: number | undefined;
  private plainFd: number | undefined;
  private size = 0;
  /** Bytes written past the end (the last part, padded to DIRECT_ALIGN), cut off at commit. */
  private padded = false;
  private readonly writes: Promise<void>[] = [];
  private failure: unknown;
  private done = false;

  constructor(
    private readonly store: LocalDirectoryStore,
    private readonly key: string,
  ) {
    this.temp = store.tempFile();
  }

  append(part: Uint8Array): Promise<void> {
    if (this.done || this.padded) throw new Error('no part may follow the last one, nor a commit');
    const at = this.size;
    this.size += part.length;
    const length = Math.ceil(part.length / DIRECT_ALIGN) * DIRECT_ALIGN;
    let written: Promise<void>;
    try {
      const fd = at % DIRECT_ALIGN === 0 && directWritable(part, length) ? this.direct() : undefined;
      if (fd !== undefined) {
        this.padded = length !== part.length;
        written = writeAll(fd, new Uint8Array(part.buffer, part.byteOffset, length), at);
      } else {
        written = writeAll(this.plain(), part, at);
      }
    } catch (error) {
      written = Promise.reject(error);
    }
    // A failure is commit()'s to report; the caller only learns that the part is free again.
    const settled = written.catch((error: unknown) => {
      this.failure ??= error;
    });
    this.writes.push(settled);
    return settled;
  }

  /** The file opened for direct writes; undefined where the file system refuses them. */
  private direct(): number | undefined {
    if (this.directFd !== undefined || !this.store.writesDirect) return this.directFd;
    try {
      this.directFd = openSync(this.temp, CREATE | constants.O_DIRECT, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      this.store.refusedDirect();
    }
    return this.directFd;
  }

  private plain(): number {
    return (this.plainFd ??= openSync(this.temp, CREATE, 0o600));
  }

  async commit(): Promise<void> {
    this.done = true;
    try {
      await Promise.all(this.writes);
      if (this.failure !== undefined) throw this.failure;
      const fd = this.directFd ?? this.plain();
      if (this.padded) ftruncateSync(fd, this.size);
      // Either descriptor flushes the whole file, whatever went through the page cache too.
      await fdatasyncAsync(fd);
      this.close();
      await this.store.place(this.temp, this.key);
    } catch (error) {
      // A write that failed (the disk is full) must not keep the space it took until the next
      // start: every retry would find less.
      await this.abort();
      throw error;
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    await Promise.all(this.writes);
    this.close();
    await rm(this.temp, { force: true });
  }

  private close(): void {
    for (const fd of [this.directFd, this.plainFd]) if (fd !== undefined) closeSync(fd);
    this.directFd = this.plainFd = undefined;
  }
}

/**
 * How a LocalObjectWriter opens its file, written only, made by the first open (its name is
 * random; and an open refused for direct I/O may have made it already).
 */
const CREATE = constants.O_WRONLY | constants.O_CREAT;

async function writeAll(fd: number, data: Uint8Array, at: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await writeAsync(fd, data, done, data.length - done, at + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('a write wrote nothing'), { code: 'EIO' });
    done += bytesWritten;
  }
}

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/** fsync of a directory, so that a rename or a new file in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  // Opened and closed at once (see LocalObjectWriter); only the flush waits on the thread pool.
  const fd = openSync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

const fsyncAsync = promisify(fsync);
