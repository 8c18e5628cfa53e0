// Snapshots: CreateSnapshot writes the snapshot (creating), its order and its copy job in one
// transaction, then has the engine fix the point in time before answering. The job copies the
// data and marks the snapshot available (or error). Delete is a job too (status deleting).
import { ApiError } from '../errors/catalog.js';
import type { Caller } from './caller.js';
import { newOrderId, newSnapshotId, type IdProfile } from './ids.js';
import { orderRefusalError } from './billing.js';
import type { Order, Page, PageOf, Snapshot, SnapshotFilter, SnapshotPolicy } from './model.js';
import type { BlockEngine, JobWaker, MetadataRepository } from './ports.js';
import type { RegionCatalog } from './region-catalog.js';

/**
 * How long a CreateSnapshot's job waits before the runner may claim it. Most snapshots need no
 * copy (the disk is unchanged since its last snapshot) and are completed by CreateSnapshot itself
 * right after the freeze; the job is only the safety net should that completion be lost in a
 * crash. Claimed at once, it would race the completion and redo the freeze for nothing. A snapshot
 * that needs a copy has its job made runnable at once.
 */
export const SNAPSHOT_JOB_GRACE_MS = 1_000;

export interface CreateSnapshotInput {
  diskId: string;
  regionId: string;
  name?: string;
  description?: string;
}

export class SnapshotService {
  constructor(
    private readonly repo: MetadataRepository,
    private readonly engine: BlockEngine,
    private readonly regions: RegionCatalog,
    private readonly jobs: JobWaker,
    private readonly idProfile: IdProfile,
    private readonly policy: SnapshotPolicy,
    /** Whether a fault rule makes the account's next snapshot copy fail. */
    private readonly snapshotFailurePending: (accountId: string) => boolean = () => false,
  ) {}

  async create(caller: Caller, input: CreateSnapshotInput): Promise<{ snapshotId: string; orderId: string }> {
    this.regions.require(input.regionId);
    const now = Date.now();
    const snapshot: Snapshot = {
      id: newSnapshotId(this.idProfile, now),
      accountId: caller.accountId,
      regionId: input.regionId,
      diskId: input.diskId,
      // Category, type and size are copied from the disk inside the transaction.
      diskCategory: 'cloud_efficiency',
      diskType: '2',
      sizeMib: 0,
      name: input.name ?? '',
      description: input.description ?? '',
      status: 'creating',
      progress: 0,
      sourceRegionId: input.regionId,
      sourceSnapshotId: '',
      orderId: newOrderId(now),
      createdMs: now,
      lastError: '',
    };
    const outcome = await this.repo.createSnapshot(
      snapshot,
      {
        id: snapshot.orderId,
        accountId: caller.accountId,
        product: 'snapshot',
        action: 'CreateSnapshot',
        resourceId: snapshot.id,
        regionId: input.regionId,
        state: 'paid',
        amount: 0, // priced inside the transaction, from the disk's size there
        createdMs: now,
      },
      this.policy,
      now + SNAPSHOT_JOB_GRACE_MS,
    );
    if (outcome === 'disk-not-found') throw new ApiError('DiskIdNotFound');
    if (outcome === 'disk-other-region') throw new ApiError('InvalidParameter.%s', 'EnsRegionId');
    if (outcome === 'disk-bad-status') throw new ApiError('IncorrectStatus.Disk');
    if (typeof outcome === 'string') throw orderRefusalError(outcome);
    // The point in time is fixed before the caller hears of the snapshot. Should the process die
    // here, the job calls beginSnapshot again (idempotent) before it copies.
    const state = await this.engine.beginSnapshot(snapshot.id, snapshot.diskId);
    // A copy that a fault rule makes fail must run as a job, even with nothing to copy.
    if (state === 'complete' && !this.snapshotFailurePending(caller.accountId)) {
      // Nothing to copy (the disk is unchanged since its last, complete snapshot): the job would
      // only mark the snapshot available, so that is written now, with the job's completion,
      // without waiting for it. If the runner claims the job meanwhile, it finds the snapshot
      // available (or completes it, idempotently); should this write be lost, the job does it.
      this.repo
        .completeJob(outcome.jobId, { type: 'snapshot-available', snapshotId: snapshot.id })
        .catch(() => this.jobs.wake());
    } else {
      // Not awaited: should the write fail, the job still runs when its grace ends.
      const wake = () => this.jobs.wake();
      this.repo.expediteJob(outcome.jobId, Date.now()).then(wake, wake);
    }
    return { snapshotId: snapshot.id, orderId: snapshot.orderId };
  }

  /**
   * CopySnapshot: one new snapshot per destination node, each sharing the source's chunks (so a
   * copy costs no data). Each is creating until its job has recorded it in the engine.
   */
  async copy(
    caller: Caller,
    input: { snapshotId: string; regionIds: string[]; name?: string; description?: string },
  ): Promise<{ regionId: string; snapshotId: string }[]> {
    for (const regionId of input.regionIds) {
      if (!this.regions.get(regionId)) throw new ApiError('InvalidParameter.%s', 'DestinationRegionIds');
    }
    const source = await this.repo.getSnapshot(caller.accountId, input.snapshotId);
    if (!source) throw new ApiError('SnapshotIdNotFound');
    if (source.status !== 'available') throw new ApiError('IncorrectInstanceStatus');
    const now = Date.now();
    const copies = [...new Set(input.regionIds)].map((regionId) => {
      const snapshot: Snapshot = {
        ...source,
        id: newSnapshotId(this.idProfile),
        regionId,
        name: input.name ?? source.name,
        description: input.description ?? source.description,
        status: 'creating',
        progress: 0,
        sourceRegionId: source.regionId,
        sourceSnapshotId: source.id,
        orderId: newOrderId(now),
        createdMs: now,
        lastError: '',
      };
      const order: Order = {
        id: snapshot.orderId,
        accountId: caller.accountId,
        product: 'snapshot',
        action: 'CopySnapshot',
        resourceId: snapshot.id,
        regionId,
        state: 'paid',
        // A copy shares the source's data: it adds no storage to pay for.
        amount: 0,
        createdMs: now,
      };
      return { snapshot, order };
    });
    // Checked where the copies are written: the account's standing and its snapshot quotas.
    const outcome = await this.repo.createSnapshotCopies(copies, this.policy);
    if (outcome !== 'ok') throw orderRefusalError(outcome);
    this.jobs.wake();
    return copies.map(({ snapshot }) => ({ regionId: snapshot.regionId, snapshotId: snapshot.id }));
  }

  describe(caller: Caller, filter: SnapshotFilter, page: Page): Promise<PageOf<Snapshot>> {
    return this.repo.listSnapshots(caller.accountId, filter, page);
  }

  async modify(
    caller: Caller,
    snapshotId: string,
    change: { name?: string; description?: string },
  ): Promise<void> {
    const found = await this.repo.updateSnapshotAttributes(caller.accountId, snapshotId, change);
    if (!found) throw new ApiError('SnapshotIdNotFound');
  }

  async delete(caller: Caller, snapshotId: string): Promise<void> {
    const outcome = await this.repo.markSnapshotDeleting(caller.accountId, snapshotId);
    if (outcome === 'not-found') throw new ApiError('INSTANCE_ID_NOT_FOUND');
    if (outcome === 'bad-status') throw new ApiError('IncorrectInstanceStatus');
    this.jobs.wake();
  }
}
