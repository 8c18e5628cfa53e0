// The two ports the domain stands on (brief: "two ports, not one"): the metadata repository and the
// block engine. The domain sees only these interfaces; storage/ implements them.
import type {
  AccessKey,
  Disk,
  DiskFilter,
  Job,
  JobKind,
  Order,
  Page,
  PageOf,
  Snapshot,
  SnapshotFilter,
} from './model.js';

export type CreateSnapshotOutcome = 'created' | 'disk-not-found' | 'disk-other-region' | 'disk-bad-status';
export type DeleteOutcome = 'ok' | 'not-found' | 'bad-status';

/** What a finished job changes besides itself: written with its completion, atomically. */
export type JobEffect =
  | { type: 'snapshot-available'; snapshotId: string }
  | { type: 'snapshot-removed'; accountId: string; snapshotId: string }
  | { type: 'disk-removed'; accountId: string; diskId: string };

/** All persistent metadata. Every method is atomic; every query is scoped by account. */
export interface MetadataRepository {
  /** Makes everything queued durable, then closes. */
  close(): Promise<void>;

  upsertAccessKey(key: AccessKey, accountName: string): Promise<void>;
  findAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;

  insertDisk(disk: Disk): Promise<void>;
  getDisk(accountId: string, diskId: string): Promise<Disk | undefined>;
  listDisks(accountId: string, filter: DiskFilter, page: Page): Promise<PageOf<Disk>>;
  /** Available → Deleting and a disk.delete job, atomically. */
  markDiskDeleting(accountId: string, diskId: string): Promise<DeleteOutcome>;
  countCreatingSnapshots(accountId: string, diskId: string): Promise<number>;

  /**
   * The disk is re-checked inside the transaction (exists, in the region, Available); then the
   * snapshot (status creating), its order and its snapshot.create job are written together.
   */
  createSnapshot(snapshot: Snapshot, order: Order): Promise<CreateSnapshotOutcome>;
  getSnapshot(accountId: string, snapshotId: string): Promise<Snapshot | undefined>;
  listSnapshots(accountId: string, filter: SnapshotFilter, page: Page): Promise<PageOf<Snapshot>>;
  updateSnapshotAttributes(
    accountId: string,
    snapshotId: string,
    change: { name?: string; description?: string },
  ): Promise<boolean>;
  /** available|error → deleting and a snapshot.delete job, atomically. */
  markSnapshotDeleting(accountId: string, snapshotId: string): Promise<DeleteOutcome>;
  setSnapshotProgress(snapshotId: string, progress: number): Promise<void>;
  /** A creating snapshot whose job gave up: status error, the reason kept. */
  markSnapshotError(snapshotId: string, lastError: string): Promise<void>;

  /** Hands out up to `limit` of the oldest runnable jobs, marked running until `leaseUntilMs`. */
  claimJobs(nowMs: number, leaseUntilMs: number, limit: number): Promise<Job[]>;
  /** The job is done; its effect (if any) is written in the same transaction. */
  completeJob(jobId: number, effect?: JobEffect): Promise<void>;
  /** The job goes back to the queue, runnable again at `runAfterMs`; attempts counted if `failed`. */
  releaseJob(jobId: number, runAfterMs: number, error: { failed: boolean; message: string }): Promise<void>;
  failJob(jobId: number, message: string): Promise<void>;
  /** After a crash: every job left running is runnable again. Returns how many. */
  requeueRunningJobs(): Promise<number>;
  countJobs(kind?: JobKind): Promise<{ queued: number; running: number }>;
}

/**
 * The block engine as the domain uses it. Every method is idempotent, because a job that was
 * interrupted runs again from its start.
 */
export interface BlockEngine {
  readonly name: string;
  /** Whether snapshots copy real data (the coverage table reports it). */
  readonly storesData: boolean;
  /** A new volume, empty or with the contents of an available snapshot. */
  createVolume(diskId: string, sizeBytes: number, fromSnapshotId?: string): Promise<void>;
  deleteVolume(diskId: string): Promise<void>;
  /** Fixes the snapshot's point in time. A second call for the same snapshot changes nothing. */
  beginSnapshot(snapshotId: string, diskId: string): Promise<void>;
  /** Copies what changed since the disk's previous snapshot, reporting progress 0..1. */
  copySnapshot(
    snapshotId: string,
    diskId: string,
    onProgress: (fraction: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
}

/** Tells the job runner that a job was queued, so it need not wait for its next poll. */
export interface JobWaker {
  wake(): void;
}
