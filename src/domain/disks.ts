// Disks: create (empty or from a snapshot), describe, delete. A delete is a durable job: the disk
// shows Deleting until its volume is gone, and waits for snapshots of it that are still being taken.
import { ApiError } from '../errors/catalog.js';
import type { Caller } from './caller.js';
import { orderRefusalError } from './billing.js';
import { newDiskId, newOrderId } from './ids.js';
import type { Disk, DiskCategory, DiskFilter, Page, PageOf } from './model.js';
import {
  EngineConflict,
  EngineDataUnreadable,
  EngineSnapshotGone,
  type BlockEngine,
  type JobWaker,
  type MetadataRepository,
} from './ports.js';
import type { RegionCatalog } from './region-catalog.js';

export interface CreateDiskInput {
  regionId: string;
  category: DiskCategory;
  sizeGib?: number;
  snapshotId?: string;
  name?: string;
  encrypted?: boolean;
  kmsKeyId?: string;
  tags: { key: string; value: string }[];
}

export class DiskService {
  constructor(
    private readonly repo: MetadataRepository,
    private readonly engine: BlockEngine,
    private readonly regions: RegionCatalog,
    private readonly jobs: JobWaker,
    private readonly diskPricePerGibMonth: number,
  ) {}

  async create(caller: Caller, input: CreateDiskInput): Promise<{ diskId: string }> {
    this.regions.require(input.regionId);
    let sizeMib = input.sizeGib === undefined ? 0 : input.sizeGib * 1024;
    if (input.snapshotId !== undefined) {
      const snapshot = await this.repo.getSnapshot(caller.accountId, input.snapshotId);
      if (!snapshot) throw new ApiError('SnapshotIdNotFound');
      if (snapshot.status !== 'available') throw new ApiError('IncorrectInstanceStatus');
      if (snapshot.regionId !== input.regionId) throw new ApiError('InvalidParameter.%s', 'EnsRegionId');
      // The reference: a snapshot larger than Size wins; a smaller one takes Size.
      sizeMib = Math.max(sizeMib, snapshot.sizeMib);
    } else if (input.sizeGib === undefined) {
      throw new ApiError('MissingParameter', 'Size');
    }
    const disk: Disk = {
      id: newDiskId(),
      accountId: caller.accountId,
      regionId: input.regionId,
      name: input.name ?? '',
      description: '',
      category: input.category,
      sizeMib,
      status: 'Available',
      type: '2',
      chargeType: 'postpay',
      encrypted: input.encrypted ?? false,
      kmsKeyId: input.encrypted ? (input.kmsKeyId ?? '') : '',
      snapshotId: input.snapshotId ?? '',
      createdMs: Date.now(),
      tags: input.tags,
    };
    // The volume first: a crash between the two leaves an orphan volume, never a disk without one.
    try {
      await this.engine.createVolume(disk.id, sizeMib * 1024 * 1024, input.snapshotId);
    } catch (error) {
      // The snapshot was deleted meanwhile; or its data is damaged (no disk is created).
      if (error instanceof EngineConflict) throw new ApiError('IncorrectInstanceStatus');
      if (error instanceof EngineDataUnreadable) throw new ApiError('StoredDataDamaged');
      throw error;
    }
    const outcome = await this.repo.insertDisk(disk);
    if (outcome !== 'ok') {
      // The account's standing forbids a new disk, or the operator deleted the account meanwhile.
      await this.engine.deleteVolume(disk.id);
      throw orderRefusalError(outcome);
    }
    return { diskId: disk.id };
  }

  describe(caller: Caller, filter: DiskFilter, page: Page): Promise<PageOf<Disk>> {
    return this.repo.listDisks(caller.accountId, filter, page);
  }

  /** ResetDisk: the disk's content becomes that of one of its own available snapshots. */
  async reset(caller: Caller, diskId: string, snapshotId: string): Promise<void> {
    const disk = await this.repo.getDisk(caller.accountId, diskId);
    if (!disk) throw new ApiError('DiskIdNotFound');
    const snapshot = await this.repo.getSnapshot(caller.accountId, snapshotId);
    if (!snapshot) throw new ApiError('SnapshotIdNotFound');
    // The reference: the snapshot must have been created from this disk.
    if (snapshot.diskId !== diskId || snapshot.sourceSnapshotId !== '')
      throw new ApiError('InvalidParameter.%s', 'SnapshotId');
    if (snapshot.status !== 'available') throw new ApiError('IncorrectInstanceStatus');
    if (disk.status !== 'Available' && disk.status !== 'In-use') throw new ApiError('IncorrectStatus.Disk');
    if ((await this.repo.countCreatingSnapshots(caller.accountId, diskId)) > 0)
      throw new ApiError('IncorrectStatus.Disk');
    try {
      await this.engine.resetVolume(diskId, snapshotId);
    } catch (error) {
      if (error instanceof EngineSnapshotGone) throw new ApiError('IncorrectInstanceStatus');
      if (error instanceof EngineConflict) throw new ApiError('IncorrectStatus.Disk');
      // The snapshot's data is damaged: the restore was called off, the disk is unchanged.
      if (error instanceof EngineDataUnreadable) throw new ApiError('StoredDataDamaged');
      throw error;
    }
  }

  /** ResizeDisk: grows the disk (never shrinks it); the change is recorded as an order. */
  async resize(caller: Caller, diskId: string, newSizeGib: number): Promise<{ orderId: string }> {
    const disk = await this.repo.getDisk(caller.accountId, diskId);
    if (!disk) throw new ApiError('DiskIdNotFound');
    if (disk.status !== 'Available' && disk.status !== 'In-use') throw new ApiError('IncorrectStatus.Disk');
    const sizeMib = newSizeGib * 1024;
    if (sizeMib <= disk.sizeMib) throw new ApiError('InvalidParameter.%s', 'NewSize');
    // The volume first: a crash between the two leaves a volume larger than its disk, which the
    // next ResizeDisk simply grows again.
    await this.engine.resizeVolume(diskId, sizeMib * 1024 * 1024);
    const now = Date.now();
    const orderId = newOrderId(now);
    await this.repo.resizeDisk(caller.accountId, diskId, sizeMib, {
      id: orderId,
      accountId: caller.accountId,
      product: 'disk',
      action: 'ResizeDisk',
      resourceId: diskId,
      regionId: disk.regionId,
      state: 'paid',
      // One month of the added capacity.
      amount: Math.round(((sizeMib - disk.sizeMib) / 1024) * this.diskPricePerGibMonth * 100) / 100,
      createdMs: now,
    });
    return { orderId };
  }

  async delete(caller: Caller, diskId: string): Promise<void> {
    const outcome = await this.repo.markDiskDeleting(caller.accountId, diskId);
    if (outcome === 'not-found') throw new ApiError('DiskIdNotFound');
    if (outcome === 'bad-status') throw new ApiError('IncorrectStatus.Disk');
    this.jobs.wake();
  }
}
