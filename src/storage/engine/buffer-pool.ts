// Large buffers kept for reuse. A snapshot copy moves gigabytes through buffers of a few MiB;
// allocating each afresh leaves the collector and the allocator holding hundreds of MiB between
// collections (and, on a VM, costs page faults on memory never touched before).
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
    /** Makes a buffer of `size` bytes that owns its memory. */
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.from(new ArrayBuffer(size)),
  ) {}

  /** A buffer of `size` bytes that owns its memory (so it can be transferred to a worker). */
  take(): Buffer {
    return this.free.pop() ?? this.allocate(this.size);
  }

  /** Lets go of every kept buffer (when the work that used them is over); returns their bytes. */
  drain(): number {
    const bytes = this.free.length * this.size;
    this.free.length = 0;
    return bytes;
  }

  /** Gives a buffer (or any view starting at its beginning) back; it must no longer be used. */
  give(buffer: Buffer): void {
    if (buffer.buffer.byteLength !== this.size || buffer.byteOffset !== 0) return;
    if (this.free.length < this.keep) this.free.push(Buffer.from(buffer.buffer as ArrayBuffer, 0, this.size));
  }
}
