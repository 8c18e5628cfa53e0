// Disks: create (empty or from a snapshot), describe, delete. A delete is a durable job: the disk
// shows Deleting until its volume is gone, and waits for snapshots of it that are still being taken.
import { ApiError } from '../errors/catalog.js';
import type { Caller } from './caller.js';
import { newDiskId } from './ids.js';
import type { Disk, DiskCategory, DiskFilter, Page, PageOf } from './model.js';
import type { BlockEngine, JobWaker, MetadataRepository } from './ports.js';
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
    await this.engine.createVolume(disk.id, sizeMib * 1024 * 1024, input.snapshotId);
    await this.repo.insertDisk(disk);
    return { diskId: disk.id };
  }

  describe(caller: Caller, filter: DiskFilter, page: Page): Promise<PageOf<Disk>> {
    return this.repo.listDisks(caller.accountId, filter, page);
  }

  async delete(caller: Caller, diskId: string): Promise<void> {
    const outcome = await this.repo.markDiskDeleting(caller.accountId, diskId);
    if (outcome === 'not-found') throw new ApiError('DiskIdNotFound');
    if (outcome === 'bad-status') throw new ApiError('IncorrectStatus.Disk');
    this.jobs.wake();
  }
}
