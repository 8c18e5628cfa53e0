// The data plane: a disk's bytes written and read through the API (what `ensnap disk import`,
// `ensnap disk export`, `ensnap snapshot export` and NBD use), a snapshot's bytes read, the ranges
// that hold data, and the engine's integrity check. Every request is checked against the caller's
// own disk or snapshot (exists, status, range) before the engine sees it, and the engine's refusals
// become catalog errors: a client's mistake changes nothing, damaged data is never served.
import { ApiError, type ErrorKey } from '../errors/catalog.js';
import { isOperator, OPERATOR_ONLY, type Caller } from './caller.js';
import {
  EngineConflict,
  EngineDataUnreadable,
  EngineNotReady,
  type BlockEngine,
  type Extent,
  type MetadataRepository,
  type VerifyReport,
} from './ports.js';

const MiB = 1024 * 1024;
/** The largest write or read in one request. */
export const DATA_MAX_BYTES = 16 * MiB;
/** Extents answered at most per DescribeDiskExtents / DescribeSnapshotExtents call. */
export const EXTENTS_PAGE = 10_000;

export interface ExtentPage {
  /** A disk being filled from a snapshot in the background: how far (0..1). */
  restore?: number;
  sizeBytes: number;
  extents: Extent[];
  /** Where the next page starts, when this one is not the last. */
  nextOffset?: number;
}

export class DiskDataService {
  constructor(
    private readonly repo: MetadataRepository,
    private readonly engine: BlockEngine,
    private readonly operatorAccountId: string,
    /** Told of every damaged object a request ran into (the client gets StoredDataDamaged). */
    private readonly onDamage: (error: Error, resource: string) => void = () => undefined,
  ) {}

  async write(caller: Caller, diskId: string, offset: number, data: Uint8Array): Promise<void> {
    const sizeBytes = await this.usableDisk(caller, diskId);
    // The whole write must fit the disk: nothing is written otherwise.
    if (offset >= sizeBytes || offset + data.length > sizeBytes)
      throw new ApiError('InvalidParameter.%s', 'Offset');
    await this.engineCall(diskId, 'IncorrectStatus.Disk', () =>
      this.engine.writeVolume(diskId, offset, data),
    );
  }

  async read(caller: Caller, diskId: string, offset: number, length: number): Promise<Buffer> {
    const sizeBytes = await this.usableDisk(caller, diskId);
    checkRange(sizeBytes, offset, length);
    return this.engineCall(diskId, 'IncorrectStatus.Disk', () =>
      this.engine.readVolume(diskId, offset, length),
    );
  }

  /** What read or readSnapshot answered is no longer used (sent): its buffer may be reused. */
  release(data: Buffer): void {
    this.engine.releaseRead(data);
  }

  async diskExtents(caller: Caller, diskId: string, from: number): Promise<ExtentPage> {
    const sizeBytes = await this.usableDisk(caller, diskId);
    if (from > sizeBytes) throw new ApiError('InvalidParameter.%s', 'Offset');
    const all = await this.engineCall(diskId, 'IncorrectStatus.Disk', () =>
      this.engine.volumeExtents(diskId),
    );
    const restore = await this.engineCall(diskId, 'IncorrectStatus.Disk', () =>
      this.engine.restoreProgress(diskId),
    );
    return { ...page(sizeBytes, all, from), restore: restore ?? 1 };
  }

  async readSnapshot(caller: Caller, snapshotId: string, offset: number, length: number): Promise<Buffer> {
    const sizeBytes = await this.availableSnapshot(caller, snapshotId);
    checkRange(sizeBytes, offset, length);
    return this.engineCall(snapshotId, 'IncorrectInstanceStatus', () =>
      this.engine.readSnapshot(snapshotId, offset, length),
    );
  }

  async snapshotExtents(caller: Caller, snapshotId: string, from: number): Promise<ExtentPage> {
    const sizeBytes = await this.availableSnapshot(caller, snapshotId);
    if (from > sizeBytes) throw new ApiError('InvalidParameter.%s', 'Offset');
    const all = await this.engineCall(snapshotId, 'IncorrectInstanceStatus', () =>
      this.engine.snapshotExtents(snapshotId),
    );
    return page(sizeBytes, all, from);
  }

  /** Re-hashes every stored chunk and checks every manifest: the whole store, so the operator only. */
  async verify(caller: Caller): Promise<VerifyReport> {
    if (!isOperator(caller, this.operatorAccountId)) throw new ApiError('NoPermission', OPERATOR_ONLY);
    return this.engine.verify();
  }

  /** The disk's size in bytes, if the caller's disk exists and its data may be used now. */
  private async usableDisk(caller: Caller, diskId: string): Promise<number> {
    const disk = await this.repo.getDisk(caller.accountId, diskId);
    if (!disk) throw new ApiError('DiskIdNotFound');
    if (disk.status !== 'Available' && disk.status !== 'In-use') throw new ApiError('IncorrectStatus.Disk');
    return disk.sizeMib * MiB;
  }

  /** The snapshot's size in bytes, if the caller's snapshot exists and is complete. */
  private async availableSnapshot(caller: Caller, snapshotId: string): Promise<number> {
    const snapshot = await this.repo.getSnapshot(caller.accountId, snapshotId);
    if (!snapshot) throw new ApiError('SnapshotIdNotFound');
    if (snapshot.status !== 'available') throw new ApiError('IncorrectInstanceStatus');
    return snapshot.sizeMib * MiB;
  }

  private async engineCall<T>(resource: string, conflict: ErrorKey, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof EngineDataUnreadable) {
        this.onDamage(error, resource);
        throw new ApiError('StoredDataDamaged');
      }
      // The resource changed state between our check and the engine's (a delete, a reset).
      if (error instanceof EngineConflict || error instanceof EngineNotReady) throw new ApiError(conflict);
      throw error;
    }
  }
}

function checkRange(sizeBytes: number, offset: number, length: number): void {
  if (offset >= sizeBytes) throw new ApiError('InvalidParameter.%s', 'Offset');
  if (offset + length > sizeBytes) throw new ApiError('InvalidParameter.%s', 'Length');
}

/** The extents that end after `from` (the first one clipped to start there), one page of them. */
function page(sizeBytes: number, all: Extent[], from: number): ExtentPage {
  const extents: Extent[] = [];
  for (const extent of all) {
    const end = extent.offset + extent.length;
    if (end <= from) continue;
    if (extents.length === EXTENTS_PAGE) return { sizeBytes, extents, nextOffset: extent.offset };
    const start = Math.max(extent.offset, from);
    extents.push({ offset: start, length: end - start });
  }
  return { sizeBytes, extents };
}
