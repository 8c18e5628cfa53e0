// Where packs of chunks live. The chunk store sees only this interface, so the local directory
// (the default) and an S3-compatible bucket (a later backend) are interchangeable: objects are
// written once, whole and atomically, read by range, and deleted; nothing assumes a local file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface ObjectStore {
  /** Stores the object whole; once this resolves it is durable. Never partly visible. */
  put(key: string, parts: readonly Uint8Array[]): Promise<void>;
  /** `length` bytes from `offset`; throws ObjectMissing if the object is gone. */
  read(key: string, offset: number, length: number): Promise<Buffer>;
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
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private static readonly MAX_OPEN = 64;

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
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writev(parts as Uint8Array[]);
      await handle.datasync();
    } catch (error) {
      // A write that failed (the disk is full) must not keep the space it took until the next
      // start: every retry would find less.
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    const dir = path.dirname(target);
    await mkdir(dir, { recursive: true });
    await rename(temp, target);
    await syncDirectory(dir);
  }

  private handle(key: string): Promise<FileHandle> {
    let handle = this.handles.get(key);
    if (handle === undefined) {
      if (this.handles.size >= LocalDirectoryStore.MAX_OPEN) {
        const [oldest, open] = this.handles.entries().next().value as [string, Promise<FileHandle>];
        this.handles.delete(oldest);
        void open.then((h) => h.close()).catch(() => undefined);
      }
      handle = open(this.file(key), 'r').catch((error: NodeJS.ErrnoException) => {
        this.handles.delete(key);
        throw error.code === 'ENOENT' ? new ObjectMissing(key) : error;
      });
      this.handles.set(key, handle);
    }
    return handle;
  }

  async read(key: string, offset: number, length: number): Promise<Buffer> {
    const handle = await this.handle(key);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new ObjectMissing(`${key} (short read at ${offset + done})`);
      done += bytesRead;
    }
    return out;
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
    const open = this.handles.get(key);
    if (open) {
      this.handles.delete(key);
      await open.then((h) => h.close()).catch(() => undefined);
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
    const open = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(open.map((h) => h.then((x) => x.close()).catch(() => undefined)));
  }
}

/** fsync of a directory, so that a rename or a new file in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
