// Where packs of chunks live. The chunk store sees only this interface, so the local directory
// (the default) and an S3-compatible bucket (a later backend) are interchangeable: objects are
// written once, whole and atomically, read by range, and deleted; nothing assumes a local file.
import { randomBytes } from 'node:crypto';
import { closeSync, fsync, mkdirSync, openSync, renameSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { directWritable, writeFileDirect } from './direct-writer.js';

export interface ObjectStore {
  /** Stores the object whole; once this resolves it is durable. Never partly visible. */
  put(key: string, parts: readonly Uint8Array[]): Promise<void>;
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

export class ObjectMissing extends Error {
  constructor(readonly key: string) {
    super(`object ${key} is missing`);
  }
}

/** Objects as files under a directory: written to tmp/, fsynced, renamed into place, dir fsynced. */
export class LocalDirectoryStore implements ObjectStore {
  private readonly handles = new Map<string, OpenObject>();
  private static readonly MAX_OPEN = 64;
  /** Whether this directory takes direct writes: unknown until the first. */
  private direct: boolean | undefined;
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

  async put(key: string, parts: readonly Uint8Array[]): Promise<void> {
    const target = this.file(key);
    const temp = path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
    try {
      await this.writeTemp(temp, parts);
    } catch (error) {
      // A write that failed (the disk is full) must not keep the space it took until the next
      // start: every retry would find less.
      await rm(temp, { force: true });
      throw error;
    }
    // The directory and the rename are done at once (metadata; see writeFileDirect on why).
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

  /**
   * Writes the file and flushes it. An object in one page-aligned buffer (a pack) is written with
   * direct I/O, past the page cache: on a VM, copying into page-cache memory the host has not
   * backed yet, then writing it back, cost several times the write itself. Where the file system
   * refuses direct I/O (tmpfs), files are written through the page cache from then on.
   */
  private async writeTemp(file: string, parts: readonly Uint8Array[]): Promise<void> {
    const only = parts.length === 1 ? (parts[0] as Uint8Array) : undefined;
    if (only && this.direct !== false && directWritable(only)) {
      try {
        await writeFileDirect(file, only);
        this.direct = true;
        return;
      } catch (error) {
        if (this.direct === true || (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        this.direct = false;
      }
    }
    const handle = await open(file, 'w', 0o600);
    try {
      await handle.writev(parts as Uint8Array[]);
      await handle.datasync();
    } finally {
      await handle.close();
    }
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

/** fsync of a directory, so that a rename or a new file in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  // Opened and closed at once (see writeFileDirect); only the flush waits on the thread pool.
  const fd = openSync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

const fsyncAsync = promisify(fsync);
