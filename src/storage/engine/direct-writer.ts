// Bulk writes that bypass the page cache (O_DIRECT). A restore writes a whole snapshot into a
// disk's file once, then flushes it. Through the page cache every byte is first copied into
// memory the kernel must find for it (on a VM, memory the host backs only when first touched,
// which costs more than the write itself) and then written back; direct I/O sends it from the
// writer's buffer to the device. Direct I/O needs the memory, the offset and the length aligned:
// the bytes go through one staging buffer of WebAssembly memory, which is page-aligned.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Offsets and lengths of direct writes are multiples of this (a page; sectors are smaller). */
export const DIRECT_ALIGN = 4096;
const STAGING_BYTES = 4 * 1024 * 1024;
const WASM_PAGE = 64 * 1024;

// The one WebAssembly API used here (the project's TypeScript libraries do not declare it).
declare const WebAssembly: { Memory: new (pages: { initial: number }) => { buffer: ArrayBuffer } };

export class DirectWriter {
  private constructor(
    private readonly handle: FileHandle,
    /** Halves of one staging buffer: one is written while the next is filled. */
    private readonly halves: [Buffer, Buffer],
  ) {}

  /** A writer for the file, or undefined where the file system refuses direct I/O (tmpfs). */
  static async open(file: string): Promise<DirectWriter | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_WRONLY | constants.O_DIRECT);
    } catch {
      return undefined;
    }
    const staging = Buffer.from(new WebAssembly.Memory({ initial: STAGING_BYTES / WASM_PAGE }).buffer);
    const half = STAGING_BYTES / 2;
    return new DirectWriter(handle, [staging.subarray(0, half), staging.subarray(half)]);
  }

  /** Whether a write at this offset of this length can go direct. */
  static fits(offset: number, length: number): boolean {
    return offset % DIRECT_ALIGN === 0 && length % DIRECT_ALIGN === 0;
  }

  /**
   * Writes the parts back to back from `offset` (both aligned: see fits()). Two writes are in
   * flight at a time: one after the other, the device would idle while each next one is copied
   * and issued.
   */
  async writev(parts: Buffer[], offset: number): Promise<void> {
    const writing: [Promise<void> | undefined, Promise<void> | undefined] = [undefined, undefined];
    let current = 0;
    let filled = 0;
    let at = offset;
    const issue = () => {
      const done = this.writeAll(this.halves[current] as Buffer, filled, at);
      done.catch(() => undefined); // awaited before its half is reused, or below
      writing[current] = done;
      at += filled;
      filled = 0;
      current = 1 - current;
    };
    try {
      for (const part of parts) {
        for (let from = 0; from < part.length;) {
          if (filled === 0) await writing[current];
          const staging = this.halves[current] as Buffer;
          const n = Math.min(part.length - from, staging.length - filled);
          part.copy(staging, filled, from, from + n);
          filled += n;
          from += n;
          if (filled === staging.length) issue();
        }
      }
      if (filled > 0) issue();
    } finally {
      // Never left writing past this call, failed or not (the file may be closed next).
      await Promise.allSettled(writing);
    }
    await Promise.all(writing);
  }

  private async writeAll(buffer: Buffer, length: number, at: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.handle.write(buffer, done, length - done, at + done);
      if (bytesWritten <= 0) throw Object.assign(new Error('direct write wrote nothing'), { code: 'EIO' });
      done += bytesWritten;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
