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
    private readonly staging: Buffer,
  ) {}

  /** A writer for the file, or undefined where the file system refuses direct I/O (tmpfs). */
  static async open(file: string): Promise<DirectWriter | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_WRONLY | constants.O_DIRECT);
    } catch {
      return undefined;
    }
    const memory = new WebAssembly.Memory({ initial: STAGING_BYTES / WASM_PAGE });
    return new DirectWriter(handle, Buffer.from(memory.buffer));
  }

  /** Whether a write at this offset of this length can go direct. */
  static fits(offset: number, length: number): boolean {
    return offset % DIRECT_ALIGN === 0 && length % DIRECT_ALIGN === 0;
  }

  /** Writes the parts back to back from `offset` (both aligned: see fits()). */
  async writev(parts: Buffer[], offset: number): Promise<void> {
    let filled = 0;
    let at = offset;
    const flush = async () => {
      let done = 0;
      while (done < filled) {
        const { bytesWritten } = await this.handle.write(this.staging, done, filled - done, at + done);
        if (bytesWritten <= 0) throw Object.assign(new Error('direct write wrote nothing'), { code: 'EIO' });
        done += bytesWritten;
      }
      at += filled;
      filled = 0;
    };
    for (const part of parts) {
      for (let from = 0; from < part.length;) {
        const n = Math.min(part.length - from, this.staging.length - filled);
        part.copy(this.staging, filled, from, from + n);
        filled += n;
        from += n;
        if (filled === this.staging.length) await flush();
      }
    }
    if (filled > 0) await flush();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
