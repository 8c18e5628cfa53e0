// The two ports the domain stands on (brief: "two ports, not one"): the metadata repository and the
// block engine. The domain sees only these interfaces; storage/ implements them.
import type {
  AccessKey,
  Account,
  AccountSummary,
  Disk,
  DiskFilter,
  Job,
  JobKind,
  Order,
  Page,
  PageOf,
  Snapshot,
  SnapshotFilter,
  AccountStanding,
  SnapshotPolicy,
} from './model.js';
import type {
  AccessKeyInfo,
  AccessKeyStatus,
  Attachment,
  CustomPolicy,
  Membership,
  PolicyEntities,
  PolicyRef,
  PolicyType,
  PolicyVersion,
  RamGroup,
  RamUser,
} from './iam/model.js';

/** Written (with the id of its snapshot.create job), or why not. */
export type CreateSnapshotOutcome =
  | { jobId: number }
  | 'disk-not-found'
  | 'disk-other-region'
  | 'disk-bad-status'
  | StandingRefusal
  | 'insufficient-balance'
  | 'quota-exceeded';
/** Why an account in bad standing may not order (checked in this order). */
export type StandingRefusal = 'account-not-found' | 'account-frozen' | 'not-real-name-verified' | 'overdue';
/** Written, or why not. */
export type InsertDiskOutcome = 'ok' | StandingRefusal;
/** CopySnapshot's copies written, or why none was. */
export type CopySnapshotOutcome = 'ok' | StandingRefusal | 'quota-exceeded';
/** The operator's change to an account's standing and quotas (absent: unchanged). */
export interface StandingChange {
  balance?: number;
  overdue?: number;
  frozen?: boolean;
  realNameVerified?: boolean;
  snapshotsPerDisk?: number;
  snapshotsPerAccount?: number;
  snapshotCapacityGib?: number;
}
export type DeleteOutcome = 'ok' | 'not-found' | 'bad-status';
/** Deleted (with the ids of the access keys deleted with it), or why not. */
export type DeleteAccountOutcome =
  { accessKeyIds: string[] } | 'not-found' | { disks: number; snapshots: number };
/** Written (as listings show it), or why not. */
export type CreateRootKeyOutcome = AccessKeyInfo | 'account-not-found' | 'limit-reached';
export type DeleteRootKeyOutcome = 'ok' | 'account-not-found' | 'key-not-found';

/** What a finished job changes besides itself: written with its completion, atomically. */
export type JobEffect =
  | { type: 'snapshot-available'; snapshotId: string }
  | { type: 'snapshot-removed'; accountId: string; snapshotId: string }
  | { type: 'disk-removed'; accountId: string; diskId: string };

// RAM writes: done, or why not (each condition checked inside the write's transaction).
export type UpdateUserOutcome = RamUser | 'not-found' | 'name-taken';
export type DeleteUserOutcome = 'ok' | 'not-found' | 'has-access-keys' | 'has-policies' | 'in-groups';
export type CreateAccessKeyOutcome = 'ok' | 'user-not-found' | 'limit-exceeded';
export type KeyChangeOutcome = 'ok' | 'user-not-found' | 'key-not-found';
export type DeleteGroupOutcome = 'ok' | 'not-found' | 'has-users' | 'has-policies';
export type MembershipOutcome = 'ok' | 'user-not-found' | 'group-not-found' | 'already-member' | 'not-member';
export type CreatePolicyVersionOutcome = PolicyVersion | 'not-found' | 'limit-exceeded';
export type SetDefaultVersionOutcome = 'ok' | 'policy-not-found' | 'version-not-found';
export type DeletePolicyOutcome = 'ok' | 'not-found' | 'attached-to-users' | 'attached-to-groups';
export type AttachOutcome =
  'ok' | 'holder-not-found' | 'policy-not-found' | 'already-attached' | 'limit-exceeded';
export type DetachOutcome = 'ok' | 'holder-not-found' | 'policy-not-found' | 'not-attached';

/** A user's attributes to change (absent: unchanged). */
export interface UserChange {
  userName?: string;
  displayName?: string;
  mobilePhone?: string;
  email?: string;
  comments?: string;
}

/** What policies are attached to. */
export interface PolicyHolder {
  kind: 'user' | 'group';
  name: string;
}

/**
 * All persistent metadata. Every method is atomic; every query of resources is scoped by account
 * (the account methods are the operator's, who sees every account).
 */
export interface MetadataRepository {
  /** Makes everything queued durable, then closes. */
  close(): Promise<void>;

  /** An account's root key (no user name), written with its account row at start. */
  upsertAccessKey(key: AccessKey, accountName: string): Promise<void>;
  /** The key with its secret in plain text (it is stored sealed), for the authenticator. */
  findAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;

  /**
   * The account's root keys become just this one (the account is created if new): the operator's
   * key, as configured. Throws if the id is another account's key.
   */
  replaceRootAccessKeys(key: AccessKey, accountName: string): Promise<void>;
  /** A new account (ids count up from the operator's) and its first root key, together. */
  createAccount(name: string, rootKey: { accessKeyId: string; secret: string }): Promise<Account>;
  /** Accounts not deleted, oldest first, with what each holds. */
  listAccounts(filter: { accountId?: string }, page: Page): Promise<PageOf<AccountSummary>>;
  /**
   * Refused while the account holds disks or snapshots (in any status); otherwise its access keys
   * are deleted and the account is marked deleted (kept, so its id is never given out again).
   */
  deleteAccount(accountId: string): Promise<DeleteAccountOutcome>;
  /** The account's root keys, oldest first; undefined if there is no such account. */
  listRootAccessKeys(accountId: string): Promise<AccessKeyInfo[] | undefined>;
  /** A further root key, unless the account has `limit` already. */
  createRootAccessKey(key: AccessKey, limit: number): Promise<CreateRootKeyOutcome>;
  deleteRootAccessKey(accountId: string, accessKeyId: string): Promise<DeleteRootKeyOutcome>;

  // --- RAM (every write changes the account's iamGeneration) ---

  /**
   * A new key of a RAM user, or of the account's root without `userName`; refused when the owner
   * already has `maxPerOwner` keys.
   */
  createAccessKey(key: AccessKey, createdMs: number, maxPerOwner: number): Promise<CreateAccessKeyOutcome>;
  /** The keys of a RAM user, or the account's root keys without `userName`, oldest first. */
  listAccessKeys(accountId: string, userName: string | undefined): Promise<AccessKeyInfo[]>;
  setAccessKeyStatus(
    accountId: string,
    userName: string | undefined,
    accessKeyId: string,
    status: AccessKeyStatus,
  ): Promise<KeyChangeOutcome>;
  deleteAccessKey(
    accountId: string,
    userName: string | undefined,
    accessKeyId: string,
  ): Promise<KeyChangeOutcome>;

  createUser(user: RamUser): Promise<'ok' | 'exists'>;
  getUser(accountId: string, userName: string): Promise<RamUser | undefined>;
  /** Up to `limit` users by name, after `afterName` if given. */
  listUsers(accountId: string, afterName: string | undefined, limit: number): Promise<RamUser[]>;
  /** A new name carries the user's keys, groups and policies along. */
  updateUser(
    accountId: string,
    userName: string,
    change: UserChange,
    nowMs: number,
  ): Promise<UpdateUserOutcome>;
  /** Refused while the user has access keys, policies or groups. */
  deleteUser(accountId: string, userName: string): Promise<DeleteUserOutcome>;

  createGroup(group: RamGroup): Promise<'ok' | 'exists'>;
  listGroups(accountId: string, afterName: string | undefined, limit: number): Promise<RamGroup[]>;
  /** Refused while the group has members or policies. */
  deleteGroup(accountId: string, groupName: string): Promise<DeleteGroupOutcome>;
  /** Refused when the user is in `maxGroupsPerUser` groups already. */
  addUserToGroup(
    accountId: string,
    groupName: string,
    userName: string,
    nowMs: number,
    maxGroupsPerUser: number,
  ): Promise<MembershipOutcome | 'limit-exceeded'>;
  removeUserFromGroup(accountId: string, groupName: string, userName: string): Promise<MembershipOutcome>;
  listGroupsForUser(accountId: string, userName: string): Promise<Membership[]>;

  /** The policy and its first version (its default), together. */
  createPolicy(policy: CustomPolicy, document: string): Promise<'ok' | 'exists'>;
  getPolicy(accountId: string, policyName: string): Promise<CustomPolicy | undefined>;
  listPolicies(accountId: string, afterName: string | undefined, limit: number): Promise<CustomPolicy[]>;
  /** Refused while attached, unless `cascade` (then detached from every user and group first). */
  deletePolicy(accountId: string, policyName: string, cascade: boolean): Promise<DeletePolicyOutcome>;
  /**
   * Numbered after the newest version. At `maxVersions` the oldest non-default version makes
   * room if `rotate`, else the limit refuses.
   */
  createPolicyVersion(
    accountId: string,
    policyName: string,
    document: string,
    options: { setAsDefault: boolean; rotate: boolean; maxVersions: number; nowMs: number },
  ): Promise<CreatePolicyVersionOutcome>;
  setDefaultPolicyVersion(
    accountId: string,
    policyName: string,
    version: number,
    nowMs: number,
  ): Promise<SetDefaultVersionOutcome>;
  listPolicyVersions(accountId: string, policyName: string): Promise<PolicyVersion[]>;

  /** A Custom policy must exist; refused when the holder has `maxPerType` policies of its type. */
  attachPolicy(
    accountId: string,
    holder: PolicyHolder,
    policy: PolicyRef,
    nowMs: number,
    maxPerType: number,
  ): Promise<AttachOutcome>;
  detachPolicy(accountId: string, holder: PolicyHolder, policy: PolicyRef): Promise<DetachOutcome>;
  /** The policies attached directly to a user or group. */
  listAttachments(accountId: string, holder: PolicyHolder): Promise<Attachment[]>;
  /** How many users and groups a policy is attached to. */
  countAttachments(accountId: string, policy: PolicyRef): Promise<number>;
  listPolicyEntities(accountId: string, policy: PolicyRef): Promise<PolicyEntities>;

  /**
   * For the authorizer: every policy attached to the user directly or through any of its groups,
   * with the default version's document for Custom ones (System ones are built in).
   */
  policiesForUser(
    accountId: string,
    userName: string,
  ): Promise<{ type: PolicyType; name: string; document?: string }[]>;
  /** Changes with every RAM write of the account (users, keys, groups, policies, attachments). */
  iamGeneration(accountId: string): Promise<number>;

  /** Refused (nothing written) if the account's standing forbids it or it was deleted meanwhile. */
  insertDisk(disk: Disk): Promise<InsertDiskOutcome>;
  getDisk(accountId: string, diskId: string): Promise<Disk | undefined>;
  listDisks(accountId: string, filter: DiskFilter, page: Page): Promise<PageOf<Disk>>;
  /** Available → Deleting and a disk.delete job, atomically. */
  markDiskDeleting(accountId: string, diskId: string): Promise<DeleteOutcome>;
  countCreatingSnapshots(accountId: string, diskId: string): Promise<number>;
  /** The disk's new size and the order that records it, atomically. */
  resizeDisk(accountId: string, diskId: string, sizeMib: number, order: Order): Promise<void>;

  /**
   * The disk (exists, in the region, Available), the account's standing, the quotas and the balance
   * are checked inside the transaction; then the snapshot (status creating), its order (priced by
   * `policy`, its amount taken from the balance) and its snapshot.create job, runnable from
   * `jobRunAfterMs`, are written together.
   */
  createSnapshot(
    snapshot: Snapshot,
    order: Order,
    policy: SnapshotPolicy,
    jobRunAfterMs: number,
  ): Promise<CreateSnapshotOutcome>;
  /** The new standing, or undefined if there is no such account. */
  setAccountStanding(accountId: string, change: StandingChange): Promise<AccountStanding | undefined>;
  getAccountStanding(accountId: string): Promise<AccountStanding | undefined>;
  /** The orders of every account, or of one, newest first. */
  listOrders(filter: { accountId?: string; orderId?: string }, page: Page): Promise<PageOf<Order>>;
  /**
   * CopySnapshot: each copy (creating), its order and its snapshot.share job, atomically. False
   * (nothing written) if their account was deleted meanwhile.
   */
  createSnapshotCopies(
    copies: { snapshot: Snapshot; order: Order }[],
    policy: SnapshotPolicy,
  ): Promise<CopySnapshotOutcome>;
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
  /** A queued job that was to wait is runnable from `runAfterMs` instead (a running or done job is left as it is). */
  expediteJob(jobId: number, runAfterMs: number): Promise<void>;
  failJob(jobId: number, message: string): Promise<void>;
  /** After a crash: every job left running is runnable again. Returns how many. */
  requeueRunningJobs(): Promise<number>;
  countJobs(kind?: JobKind): Promise<{ queued: number; running: number }>;
}

/** A byte range of a disk or snapshot that may hold data; the rest reads as zeros. */
export interface Extent {
  offset: number;
  length: number;
}

export interface VerifyReport {
  chunks: number;
  bytes: number;
  snapshots: number;
  /** Each damaged or missing object, with the snapshots whose data it affects. */
  problems: { what: string; snapshots: string[] }[];
}

/** The engine cannot do this yet (a snapshot it derives from is still being copied): retry later. */
export class EngineNotReady extends Error {}
/** The engine refuses: the volume or snapshot is not in a state that allows it. */
export class EngineConflict extends Error {}
/** The snapshot a request needs was deleted while the request ran. */
export class EngineSnapshotGone extends EngineConflict {}
/** Stored data reads back wrong or not at all: never served, always reported. */
export class EngineDataUnreadable extends Error {}

/**
 * The block engine as the domain uses it. Volumes are disks' contents; snapshots are immutable
 * manifests of chunks. Every method that a job calls is idempotent, because an interrupted job
 * runs again.
 */
export interface BlockEngine {
  readonly name: string;
  /** A new volume, empty or with the contents of a complete snapshot. */
  createVolume(diskId: string, sizeBytes: number, fromSnapshotId?: string): Promise<void>;
  deleteVolume(diskId: string): Promise<void>;
  resizeVolume(diskId: string, sizeBytes: number): Promise<void>;
  /** The volume's content becomes the snapshot's. */
  resetVolume(diskId: string, snapshotId: string): Promise<void>;
  /** Durable when it resolves. */
  writeVolume(diskId: string, offset: number, data: Uint8Array): Promise<void>;
  readVolume(diskId: string, offset: number, length: number): Promise<Buffer>;
  volumeExtents(diskId: string): Promise<Extent[]>;
  /** While a restore copies a snapshot into the volume in the background: how far it is (0..1). */
  restoreProgress(diskId: string): Promise<number | undefined>;
  /**
   * Fixes the snapshot's point in time. A second call for the same snapshot changes nothing.
   * Resolves with the snapshot's engine state: 'complete' when there is nothing to copy (the disk
   * is unchanged since its previous snapshot, which is complete), so its content is in place.
   */
  beginSnapshot(snapshotId: string, diskId: string): Promise<'copying' | 'complete'>;
  /** Copies what changed since the disk's previous snapshot, reporting progress 0..1. */
  copySnapshot(
    snapshotId: string,
    onProgress: (fraction: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
  /** A snapshot whose copy failed for good: its changes go back to the disk's next snapshot. */
  abandonSnapshot(snapshotId: string): Promise<void>;
  /** A new snapshot with the same content as a complete one, sharing its chunks. */
  shareSnapshot(sourceSnapshotId: string, newSnapshotId: string): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  readSnapshot(snapshotId: string, offset: number, length: number): Promise<Buffer>;
  /**
   * Takes back what readVolume or readSnapshot answered, once it is no longer used (the engine
   * reuses it). Optional: a buffer not given back is simply collected.
   */
  releaseRead(data: Buffer): void;
  snapshotExtents(snapshotId: string): Promise<Extent[]>;
  verify(onProgress?: (done: number, total: number) => void): Promise<VerifyReport>;
}

/** Tells the job runner that a job was queued, so it need not wait for its next poll. */
export interface JobWaker {
  wake(): void;
}
