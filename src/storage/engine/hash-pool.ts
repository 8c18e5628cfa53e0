// Hashing on the other cores: a snapshot copy hands each buffer it read to one of a few worker
// threads, which find its all-zero blocks and hash the rest, while the copy goes on reading and
// storing. The buffer moves to the worker and back (transferred, not copied). The first worker
// also writes the engine index for copies (their checkpoints) and checkpoints its write-ahead log
// (EngineDb): one connection more, not a thread more.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Codec, NOT_ENCODED, SECTOR, type Encoded } from './chunk-store.js';
import type { ChunkIdAlgorithm } from './chunk-id.js';
import { postCheckpoint, type CopyCheckpoint } from './copy-checkpoint.js';
import type { CheckpointRequest, CommitRequest, HashReply, HashRequest, IndexReply } from './hash-worker.js';

type Request = HashRequest | CheckpointRequest | CommitRequest;
type Reply = HashReply | IndexReply;

export interface HashedBlocks {
  data: Buffer;
  /** Per block: its chunk id, or null for an all-zero block. */
  hashes: (Buffer | null)[];
  /** Per block: whether compressing it looks worth trying. */
  compressible: boolean[];
}

/** Blocks read and hashed on a worker, answered in the form a pack stores them (readAndStore). */
export interface StoredBlocks {
  hashes: (Buffer | null)[];
  compressible: boolean[];
  /** Per block: its stored form (see encodeBlock), or undefined for an all-zero block. */
  encoded: (Encoded | undefined)[];
}

const HASH_WORKER_YOUNG_MIB = 2;

export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (e: Error) => void }
  >();
  private readonly owner = new Map<Worker, Set<number>>();
  private next = 0;
  private nextId = 0;

  constructor(
    /** How the store computes chunk ids: what the workers hash with. */
    private readonly idAlgorithm: ChunkIdAlgorithm,
    private readonly size = Math.max(1, Math.min(4, availableParallelism())),
  ) {}

  /**
   * The worker with the fewest requests outstanding (the first has the index's commits besides
   * its share of hashing); or, with `first`, the first, which writes the engine index.
   */
  private worker(first = false): Worker {
    if (first) return this.workers[0] ?? this.spawn();
    if (this.workers.length < this.size) return this.spawn();
    let best = this.workers[this.next++ % this.workers.length] as Worker;
    for (const worker of this.workers)
      if ((this.owner.get(worker)?.size ?? 0) < (this.owner.get(best)?.size ?? 0)) best = worker;
    return best;
  }

  private spawn(): Worker {
    // A hash worker makes little garbage; left to V8's default, its young generation still
    // grows to tens of MiB over a copy, memory the server then keeps.
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: HASH_WORKER_YOUNG_MIB },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.resolve(reply);
    });
    // A worker that dies fails what it was doing (the copy is retried); a new one replaces it.
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`hash worker exited with code ${code}`)));
    this.workers.push(worker);
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return;
    this.workers.splice(at, 1);
    const owned = this.owner.get(worker) ?? new Set<number>();
    for (const id of owned) {
      this.waiting.get(id)?.reject(error);
      this.waiting.delete(id);
    }
    this.owner.delete(worker);
  }

  /** Hashes each block of `data` (a buffer it takes over and hands back in the result). */
  async hashBlocks(data: Buffer, blockSize: number): Promise<HashedBlocks> {
    return this.hashed(await this.send(data, blockSize));
  }

  /**
   * Reads runs of a file into `data` on the worker, then hashes its blocks as hashBlocks does.
   * `runs`: per run, (offset in `data`, offset in the file, bytes to read, bytes it spans in
   * `data`); what the file does not have is zeros. Rejects (handing nothing back) if the file
   * cannot be read.
   */
  async readAndHash(file: string, runs: number[], data: Buffer, blockSize: number): Promise<HashedBlocks> {
    const sent = await this.send(data, blockSize, { file, runs: Float64Array.from(runs) });
    if (sent.reply.error !== undefined) throw new Error(sent.reply.error);
    return this.hashed(sent);
  }

  /**
   * Reads runs of a file on a worker, into memory of its own (`length` bytes, `runs` as for
   * readAndHash), hashes the blocks, and answers each non-zero one's stored form (encodeBlock:
   * compressed where it pays, or for a block to store as its parts its sectors' ids with its
   * bytes) instead of the data: for blocks that are only to be stored.
   */
  async readAndStore(file: string, runs: number[], length: number, blockSize: number): Promise<StoredBlocks> {
    const reply = (await this.request((id): HashRequest => ({
      id,
      length,
      blockSize,
      idAlgorithm: this.idAlgorithm,
      file,
      runs: Float64Array.from(runs),
      store: true,
    }))) as HashReply;
    if (reply.error !== undefined) throw new Error(reply.error);
    const stored = Buffer.from(reply.stored ?? new ArrayBuffer(0));
    const lengths = reply.storedLengths ?? new Uint32Array(0);
    let at = 0;
    const encoded = Array.from(reply.codecs ?? [], (codec, i): Encoded | undefined => {
      if (codec === NOT_ENCODED) return undefined;
      const from = at;
      at += lengths[i] as number;
      const rawLength = Math.min(blockSize, length - i * blockSize);
      if (codec !== Codec.Parts)
        return { codec: codec as Codec, stored: stored.subarray(from, at), rawLength };
      // Its sectors' ids, then its bytes (see the worker). The ids are copied: the pack keeps them
      // until its index commit, and a view would keep the whole answer, bytes and all.
      const idsEnd = from + (rawLength / SECTOR) * 32;
      const ids = Buffer.alloc(idsEnd - from);
      stored.copy(ids, 0, from, idsEnd);
      return { codec: Codec.Parts, stored: ids, rawLength, sectors: stored.subarray(idsEnd, at) };
    });
    return { ...this.ids(reply), encoded };
  }

  private hashed({ data, reply }: { data: Buffer; reply: HashReply }): HashedBlocks {
    return { data, ...this.ids(reply) };
  }

  /** A reply's chunk ids (null for an all-zero block) and compressibility verdicts. */
  private ids(reply: HashReply): Pick<HashedBlocks, 'hashes' | 'compressible'> {
    const all = Buffer.from(reply.hashes);
    const hashes = Array.from(reply.zero, (kind, i) =>
      kind === 1 ? null : all.subarray(i * 32, i * 32 + 32),
    );
    return { hashes, compressible: Array.from(reply.zero, (kind) => kind === 2) };
  }

  /** Hashes the given (offset, length) ranges of `data` (taken over and handed back). */
  async hashRanges(data: Buffer, ranges: [number, number][]): Promise<{ data: Buffer; hashes: Buffer[] }> {
    const { data: back, reply } = await this.send(data, 0, { ranges: Uint32Array.from(ranges.flat()) });
    const all = Buffer.from(reply.hashes);
    return { data: back, hashes: ranges.map((_, i) => all.subarray(i * 32, i * 32 + 32)) };
  }

  private async send(
    data: Buffer,
    blockSize: number,
    extra: Pick<HashRequest, 'ranges' | 'file' | 'runs'> = {},
  ): Promise<{ data: Buffer; reply: HashReply }> {
    // Only a buffer whose memory starts it can be transferred (the whole ArrayBuffer goes and
    // comes back, so a pooled buffer partly used is fine). Node's shared pool for small Buffers
    // (Buffer.poolSize bytes) must never be transferred: such buffers are copied out.
    if (data.byteOffset !== 0 || data.buffer.byteLength <= Buffer.poolSize) {
      const own = new Uint8Array(new ArrayBuffer(data.length));
      own.set(data);
      data = Buffer.from(own.buffer);
    }
    const length = data.length;
    const buffer = data.buffer as ArrayBuffer;
    const reply = (await this.request(
      (id): HashRequest => ({ id, data: buffer, length, blockSize, idAlgorithm: this.idAlgorithm, ...extra }),
      [buffer],
    )) as HashReply;
    return { data: Buffer.from(reply.data as ArrayBuffer, 0, length), reply };
  }

  /**
   * Checkpoints the write-ahead log of the engine index `file` on a worker: the copy into the
   * database file and its flushes happen beside the event loop.
   */
  async checkpoint(file: string): Promise<void> {
    const reply = (await this.request(
      (id): CheckpointRequest => ({ id, checkpoint: file }),
      [],
      true,
    )) as IndexReply;
    if (reply.error !== undefined) throw new Error(reply.error);
  }

  /** Commits a snapshot copy's checkpoint in the engine index `file`, on a worker. */
  async commitCheckpoint(file: string, checkpoint: CopyCheckpoint): Promise<void> {
    const { posted, transfer } = postCheckpoint(checkpoint);
    const reply = (await this.request(
      (id): CommitRequest => ({ id, commit: file, posted }),
      transfer,
      true,
    )) as IndexReply;
    if (reply.error !== undefined) throw new Error(reply.error);
  }

  private async request(
    message: (id: number) => Request,
    transfer: ArrayBuffer[] = [],
    first = false,
  ): Promise<Reply> {
    const id = this.nextId++;
    const worker = this.worker(first);
    let owned = this.owner.get(worker);
    if (!owned) this.owner.set(worker, (owned = new Set()));
    owned.add(id);
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage(message(id), transfer);
    }).finally(() => owned.delete(id));
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
