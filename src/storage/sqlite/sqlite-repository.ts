// The embedded metadata repository: one SQLite database in the data directory (better-sqlite3).
//
// Reads run on the caller's thread, on a connection of their own. Writes are group-committed
// (sqlite-store.ts): every write requested while the previous batch was being committed goes into
// the next batch, one transaction and one fsync; a write's promise resolves once its batch is
// durable (WAL, synchronous=FULL). With `writerThread` (what the service uses) the batches run on
// a worker thread (sqlite-writer.ts), so SQL, fsync and checkpoints stay off the event loop;
// without it they run inline, on the next turn of the event loop.
//
// A reader always sees every write whose promise has resolved: the batch was committed before
// its answer was sent, and each read is a new read transaction on the WAL.
//
// AccessKeySecrets are sealed here (secret-box.ts) before a write is queued, and opened when a key
// is read, so only ciphertext reaches the database and the writer thread.
import { Worker } from 'node:worker_threads';
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
} from '../../domain/iam/model.js';
import type {
  AccessKey,
  Account,
  AccountStanding,
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
  SnapshotPolicy,
} from '../../domain/model.js';
import type {
  AttachOutcome,
  CreateAccessKeyOutcome,
  CreatePolicyVersionOutcome,
  CreateRootKeyOutcome,
  CopySnapshotOutcome,
  CreateSnapshotOutcome,
  DeleteAccountOutcome,
  DeleteGroupOutcome,
  DeleteOutcome,
  DeletePolicyOutcome,
  DeleteRootKeyOutcome,
  DeleteUserOutcome,
  DetachOutcome,
  InsertDiskOutcome,
  JobEffect,
  KeyChangeOutcome,
  MembershipOutcome,
  MetadataRepository,
  PolicyHolder,
  StandingChange,
  SetDefaultVersionOutcome,
  UpdateUserOutcome,
  UserChange,
} from '../../domain/ports.js';
import { SecretBox } from '../secret-box.js';
import { toGroup, toPolicy, toUser, toVersion, type StoredAccessKey } from './ram-store.js';
import { fromRow, type Row } from './rows.js';
import {
  openStore,
  runBatch,
  toSnapshot,
  toStanding,
  type Store,
  type WriteArgs,
  type WriteName,
  type WriteOp,
  type WriteOutcome,
  type WriteResult,
} from './sqlite-store.js';
import type { BatchReply, BatchReplyData, BatchRequest } from './sqlite-writer.js';

interface PendingWrite {
  op: WriteOp;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface SqliteRepositoryOptions {
  /** The 32-byte key that seals AccessKeySecrets in the database. */
  secretKey: Buffer;
  /** Run the writes on a worker thread (default: inline, on the event loop). */
  writerThread?: boolean;
}

const MAX_IN_FLIGHT = 2;

/**
 * Writes that never touch accounts, access keys or RAM users, groups, policies and attachments, so
 * never an account's IAM generation: the hot ones. Any other write, once committed, makes the
 * generations read before it be read again (see iamGeneration).
 */
const IAM_NEUTRAL_WRITES: ReadonlySet<WriteName> = new Set<WriteName>([
  'createSnapshot',
  'completeJob',
  'claimJobs',
  'expediteJob',
  'setSnapshotProgress',
  'releaseJob',
  'failJob',
  'markSnapshotError',
  'insertDisk',
  'markDiskDeleting',
  'markSnapshotDeleting',
  'updateSnapshotAttributes',
]);

/** Generations kept at most for this many accounts (emptied beyond). */
const GENERATIONS_KEPT = 10_000;

export class SqliteRepository implements MetadataRepository {
  private readonly store: Store;
  private readonly stmt: Store['stmt'];
  private readonly ram: Store['ram'];
  private readonly secrets: SecretBox;
  private readonly worker: Worker | undefined;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  /**
   * Batches sent to the writer thread and not yet answered, oldest first (it answers in order). Up
   * to MAX_IN_FLIGHT: while it commits one, the next is already waiting, so the thread never idles
   * waiting for the event loop; writes queued meanwhile form the batch after.
   */
  private readonly inFlight: PendingWrite[][] = [];
  private broken: Error | undefined;
  private closing = false;
  private exited = false;
  private wakeClose: (() => void) | undefined;
  private readonly flushNow = () => this.flush();
  /**
   * Accounts' IAM generations as last read, until a write that may change one commits. A RAM
   * user's every call asks for it: read from the database, 9 µs of the event loop per call under
   * load (a read transaction on a busy write-ahead log); kept here, a map lookup.
   */
  private readonly generations = new Map<string, number>();

  constructor(file: string, options: SqliteRepositoryOptions) {
    // Opens and migrates first, so a bad database fails here, before any thread starts.
    this.store = openStore(file);
    this.stmt = this.store.stmt;
    this.ram = this.store.ram;
    this.secrets = new SecretBox(options.secretKey);
    try {
      this.checkSecretKey();
      this.sealPlainSecrets();
    } catch (error) {
      this.store.db.close();
      throw error;
    }
    if (options.writerThread) {
      this.worker = new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData: { file } });
      this.worker.on('message', (reply: BatchReply) => this.settle(reply));
      this.worker.on('error', (error) => this.fail(error));
      this.worker.on('exit', (code) => {
        this.exited = true;
        if (!this.closing || this.inFlight.length > 0 || this.pending.length > 0)
          this.fail(new Error(`the SQLite writer thread exited (${code})`));
      });
    }
  }

  /** Commits what is queued, stops the writer thread, closes the database. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker) {
      this.closing = true;
      for (;;) {
        this.flush();
        if ((this.pending.length === 0 && this.inFlight.length === 0) || this.exited) break;
        await new Promise<void>((resolve) => (this.wakeClose = resolve));
      }
      if (!this.exited) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ close: true });
        await exited;
      }
    } else {
      this.flush();
    }
    this.store.db.close();
  }

  /** Queues a write for the next group commit; resolves with its result once it is durable. */
  private write<N extends WriteName>(name: N, ...args: WriteArgs<N>): Promise<WriteResult<N>> {
    return new Promise<WriteResult<N>>((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      this.pending.push({ op: [name, args], resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled && this.inFlight.length < MAX_IN_FLIGHT) {
        this.flushScheduled = true;
        setImmediate(this.flushNow);
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    // With the writer thread busy, queued writes wait for an answer, then go as one batch.
    if (this.inFlight.length >= MAX_IN_FLIGHT) return;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const ops = batch.map((item) => item.op);
    if (this.worker) {
      this.inFlight.push(batch);
      this.worker.postMessage(JSON.stringify(ops) satisfies BatchRequest);
      return;
    }
    let results: WriteOutcome[];
    try {
      results = runBatch(this.store, ops);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    this.committed(batch);
    settleAll(batch, results);
  }

  private settle(reply: BatchReply): void {
    const batch = this.inFlight.shift();
    if (batch === undefined) return;
    const data = JSON.parse(reply) as BatchReplyData;
    this.committed(batch);
    if (Array.isArray(data)) settleAll(batch, data);
    else {
      const error = Object.assign(new Error(data.failed), data.code ? { code: data.code } : {});
      for (const item of batch) item.reject(error);
    }
    if (this.pending.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
    this.wakeClose?.();
  }

  /**
   * A batch has been committed (or rolled back), before anyone is told: generations read before
   * it are dropped if it may have changed one, so that a caller told of a RAM change is checked
   * against it. (Reads and this run on this thread, one after the other.)
   */
  private committed(batch: PendingWrite[]): void {
    if (this.generations.size > 0 && batch.some(({ op }) => !IAM_NEUTRAL_WRITES.has(op[0])))
      this.generations.clear();
  }

  /** The writer thread is gone: nothing queued can be written, and nothing more will be. */
  private fail(error: Error): void {
    this.broken ??= error;
    const waiting = [...this.inFlight.flat(), ...this.pending];
    this.inFlight.length = 0;
    this.pending = [];
    for (const item of waiting) item.reject(error);
    this.wakeClose?.();
  }

  // --- access keys ---

  /** A key that does not open with the configured secret key stops the start, saying so. */
  private checkSecretKey(): void {
    const row = this.ram.oneSealedSecret.get() as Row | undefined;
    if (!row) return;
    try {
      this.secrets.open(row.secret as string, row.access_key_id as string);
    } catch {
      throw new Error(
        'the secret key does not open the access keys stored in the database: start with the key they ' +
          'were sealed with (ENSNAP_SECRET_KEY, or secret.key in the data directory)',
      );
    }
  }

  /** Secrets stored before they were sealed (migration 3) are sealed now, before anything else runs. */
  private sealPlainSecrets(): void {
    const rows = this.ram.plainSecrets.all() as Row[];
    if (rows.length === 0) return;
    const sealed = rows.map((row) => ({
      accessKeyId: row.access_key_id as string,
      sealedSecret: this.secrets.seal(row.secret as string, row.access_key_id as string),
    }));
    const [outcome] = runBatch(this.store, [['sealSecrets', [sealed]]]);
    if (outcome && !outcome[0]) throw new Error(`sealing stored secrets failed: ${outcome[1]}`);
    // Earlier copies of the plain secrets may linger in the free space of pages and in the WAL:
    // rebuild the file without free space, then empty the WAL.
    this.store.db.exec('VACUUM');
    this.store.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private sealKey(key: AccessKey, createdMs: number): StoredAccessKey {
    return {
      accessKeyId: key.accessKeyId,
      accountId: key.accountId,
      userName: key.userName ?? null,
      status: key.status,
      sealedSecret: this.secrets.seal(key.secret, key.accessKeyId),
      createdMs,
    };
  }

  upsertAccessKey(key: AccessKey, accountName: string): Promise<void> {
    return this.write('upsertAccessKey', this.sealKey(key, Date.now()), accountName);
  }

  async findAccessKey(accessKeyId: string): Promise<AccessKey | undefined> {
    const row = this.stmt.getAccessKey.get(accessKeyId) as Row | undefined;
    if (!row) return undefined;
    return {
      accessKeyId: row.access_key_id as string,
      secret: this.secrets.open(row.secret as string, row.access_key_id as string),
      accountId: row.account_id as string,
      status: row.status as AccessKey['status'],
      userName: (row.user_name as string | null) ?? undefined,
    };
  }

  // --- accounts (the operator's) ---

  replaceRootAccessKeys(key: AccessKey, accountName: string): Promise<void> {
    return this.write('replaceRootAccessKeys', this.sealKey(key, Date.now()), accountName);
  }

  createAccount(name: string, rootKey: { accessKeyId: string; secret: string }): Promise<Account> {
    // Sealed before the account id is chosen (the seal binds the AccessKeyId, not the account).
    return this.write(
      'createAccount',
      name,
      this.sealKey({ ...rootKey, accountId: '', status: 'Active' }, Date.now()),
    );
  }

  async listAccounts(filter: { accountId?: string }, page: Page): Promise<PageOf<AccountSummary>> {
    const id = filter.accountId ?? null;
    const total = (this.stmt.countAccounts.get({ id }) as { n: number }).n;
    const rows = this.stmt.listAccounts.all({
      id,
      limit: page.pageSize,
      offset: (page.pageNumber - 1) * page.pageSize,
    }) as Row[];
    return { items: rows.map((row) => fromRow<AccountSummary>(row)), totalCount: total };
  }

  deleteAccount(accountId: string): Promise<DeleteAccountOutcome> {
    return this.write('deleteAccount', accountId);
  }

  async listRootAccessKeys(accountId: string): Promise<AccessKeyInfo[] | undefined> {
    if (!this.stmt.getLiveAccount.get(accountId)) return undefined;
    return (this.stmt.listRootAccessKeys.all(accountId) as Row[]).map((row) => fromRow<AccessKeyInfo>(row));
  }

  createRootAccessKey(key: AccessKey, limit: number): Promise<CreateRootKeyOutcome> {
    return this.write('createRootAccessKey', this.sealKey(key, Date.now()), limit);
  }

  deleteRootAccessKey(accountId: string, accessKeyId: string): Promise<DeleteRootKeyOutcome> {
    return this.write('deleteRootAccessKey', accountId, accessKeyId);
  }

  // --- RAM ---

  createAccessKey(key: AccessKey, createdMs: number, maxPerOwner: number): Promise<CreateAccessKeyOutcome> {
    return this.write('createAccessKey', this.sealKey(key, createdMs), maxPerOwner);
  }

  async listAccessKeys(accountId: string, userName: string | undefined): Promise<AccessKeyInfo[]> {
    return (this.ram.listKeys.all(accountId, userName ?? null) as Row[]).map((row) => ({
      accessKeyId: row.access_key_id as string,
      status: row.status as AccessKeyStatus,
      createdMs: row.created_ms as number,
    }));
  }

  setAccessKeyStatus(
    accountId: string,
    userName: string | undefined,
    accessKeyId: string,
    status: AccessKeyStatus,
  ): Promise<KeyChangeOutcome> {
    return this.write('setAccessKeyStatus', accountId, userName ?? null, accessKeyId, status);
  }

  deleteAccessKey(
    accountId: string,
    userName: string | undefined,
    accessKeyId: string,
  ): Promise<KeyChangeOutcome> {
    return this.write('deleteAccessKey', accountId, userName ?? null, accessKeyId);
  }

  // --- RAM users and groups ---

  createUser(user: RamUser): Promise<'ok' | 'exists'> {
    return this.write('createUser', user);
  }

  async getUser(accountId: string, userName: string): Promise<RamUser | undefined> {
    const row = this.ram.getUser.get(accountId, userName) as Row | undefined;
    return row ? toUser(row) : undefined;
  }

  async listUsers(accountId: string, afterName: string | undefined, limit: number): Promise<RamUser[]> {
    return (this.ram.listUsers.all(accountId, afterName ?? '', limit) as Row[]).map(toUser);
  }

  updateUser(
    accountId: string,
    userName: string,
    change: UserChange,
    nowMs: number,
  ): Promise<UpdateUserOutcome> {
    return this.write('updateUser', accountId, userName, change, nowMs);
  }

  deleteUser(accountId: string, userName: string): Promise<DeleteUserOutcome> {
    return this.write('deleteUser', accountId, userName);
  }

  createGroup(group: RamGroup): Promise<'ok' | 'exists'> {
    return this.write('createGroup', group);
  }

  async listGroups(accountId: string, afterName: string | undefined, limit: number): Promise<RamGroup[]> {
    return (this.ram.listGroups.all(accountId, afterName ?? '', limit) as Row[]).map(toGroup);
  }

  deleteGroup(accountId: string, groupName: string): Promise<DeleteGroupOutcome> {
    return this.write('deleteGroup', accountId, groupName);
  }

  addUserToGroup(
    accountId: string,
    groupName: string,
    userName: string,
    nowMs: number,
    maxGroupsPerUser: number,
  ): Promise<MembershipOutcome | 'limit-exceeded'> {
    return this.write('addUserToGroup', accountId, groupName, userName, nowMs, maxGroupsPerUser);
  }

  removeUserFromGroup(accountId: string, groupName: string, userName: string): Promise<MembershipOutcome> {
    return this.write('removeUserFromGroup', accountId, groupName, userName);
  }

  async listGroupsForUser(accountId: string, userName: string): Promise<Membership[]> {
    return (this.ram.groupsOfUser.all(accountId, userName) as Row[]).map((row) => ({
      group: toGroup(row),
      joinedMs: row.joined_ms as number,
    }));
  }

  // --- RAM policies ---

  createPolicy(policy: CustomPolicy, document: string): Promise<'ok' | 'exists'> {
    return this.write('createPolicy', policy, document);
  }

  async getPolicy(accountId: string, policyName: string): Promise<CustomPolicy | undefined> {
    const row = this.ram.getPolicy.get(accountId, policyName) as Row | undefined;
    return row ? toPolicy(row) : undefined;
  }

  async listPolicies(
    accountId: string,
    afterName: string | undefined,
    limit: number,
  ): Promise<CustomPolicy[]> {
    return (this.ram.listPolicies.all(accountId, afterName ?? '', limit) as Row[]).map(toPolicy);
  }

  deletePolicy(accountId: string, policyName: string, cascade: boolean): Promise<DeletePolicyOutcome> {
    return this.write('deletePolicy', accountId, policyName, cascade);
  }

  createPolicyVersion(
    accountId: string,
    policyName: string,
    document: string,
    options: { setAsDefault: boolean; rotate: boolean; maxVersions: number; nowMs: number },
  ): Promise<CreatePolicyVersionOutcome> {
    return this.write('createPolicyVersion', accountId, policyName, document, options);
  }

  setDefaultPolicyVersion(
    accountId: string,
    policyName: string,
    version: number,
    nowMs: number,
  ): Promise<SetDefaultVersionOutcome> {
    return this.write('setDefaultPolicyVersion', accountId, policyName, version, nowMs);
  }

  async listPolicyVersions(accountId: string, policyName: string): Promise<PolicyVersion[]> {
    const policy = await this.getPolicy(accountId, policyName);
    if (!policy) return [];
    return (this.ram.listVersions.all(accountId, policyName) as Row[]).map((row) =>
      toVersion(row, policy.defaultVersion),
    );
  }

  attachPolicy(
    accountId: string,
    holder: PolicyHolder,
    policy: PolicyRef,
    nowMs: number,
    maxPerType: number,
  ): Promise<AttachOutcome> {
    return this.write('attachPolicy', accountId, holder, policy, nowMs, maxPerType);
  }

  detachPolicy(accountId: string, holder: PolicyHolder, policy: PolicyRef): Promise<DetachOutcome> {
    return this.write('detachPolicy', accountId, holder, policy);
  }

  async listAttachments(accountId: string, holder: PolicyHolder): Promise<Attachment[]> {
    return (this.ram.holders[holder.kind].list.all(accountId, holder.name) as Row[]).map((row) => ({
      type: row.policy_type as PolicyType,
      name: row.policy_name as string,
      attachedMs: row.attached_ms as number,
    }));
  }

  async countAttachments(accountId: string, policy: PolicyRef): Promise<number> {
    const { user, group } = this.ram.holders;
    const n = (stmt: typeof user.countHolders) =>
      (stmt.get(accountId, policy.type, policy.name) as { n: number }).n;
    return n(user.countHolders) + n(group.countHolders);
  }

  async listPolicyEntities(accountId: string, policy: PolicyRef): Promise<PolicyEntities> {
    const users = (this.ram.usersOfPolicy.all(accountId, policy.type, policy.name) as Row[]).map((row) => ({
      userName: row.user_name as string,
      userId: row.user_id as string,
      displayName: row.display_name as string,
      attachedMs: row.attached_ms as number,
    }));
    const groups = (this.ram.groupsOfPolicy.all(accountId, policy.type, policy.name) as Row[]).map((row) => ({
      groupName: row.group_name as string,
      comments: row.comments as string,
      attachedMs: row.attached_ms as number,
    }));
    return { users, groups };
  }

  async policiesForUser(
    accountId: string,
    userName: string,
  ): Promise<{ type: PolicyType; name: string; document?: string }[]> {
    const rows = this.ram.policiesForUser.all(accountId, userName, accountId, userName, accountId) as Row[];
    return rows.map((row) => ({
      type: row.policy_type as PolicyType,
      name: row.policy_name as string,
      ...(row.document === null ? {} : { document: row.document as string }),
    }));
  }

  async iamGeneration(accountId: string): Promise<number> {
    let generation = this.generations.get(accountId);
    if (generation === undefined) {
      const row = this.ram.getGeneration.get(accountId) as { iam_generation: number } | undefined;
      generation = row?.iam_generation ?? 0;
      if (this.generations.size >= GENERATIONS_KEPT) this.generations.clear();
      this.generations.set(accountId, generation);
    }
    return generation;
  }

  // --- disks ---

  insertDisk(disk: Disk): Promise<InsertDiskOutcome> {
    return this.write('insertDisk', disk);
  }

  async getDisk(accountId: string, diskId: string): Promise<Disk | undefined> {
    const row = this.stmt.getDisk.get(accountId, diskId) as Row | undefined;
    return row ? this.toDisk(row) : undefined;
  }

  async listDisks(accountId: string, filter: DiskFilter, page: Page): Promise<PageOf<Disk>> {
    const where = ['account_id = ?'];
    const args: unknown[] = [accountId];
    addIn(where, args, 'id', filter.diskIds);
    addIn(where, args, 'region_id', filter.regionIds);
    addEq(where, args, 'category', filter.category);
    addEq(where, args, 'name', filter.name);
    addEq(where, args, 'snapshot_id', filter.snapshotId);
    addEq(where, args, 'status', filter.status);
    addEq(where, args, 'type', filter.type);
    addEq(where, args, 'charge_type', filter.chargeType);
    if (filter.instanceId !== undefined) where.push('0 = 1');
    const columns = { name: 'name', region: 'region_id', created: 'created_ms', size: 'size_mib' } as const;
    const order = (filter.orderBy ?? []).map(
      (o) => `${columns[o.column]} ${o.direction === 'asc' ? 'ASC' : 'DESC'}`,
    );
    order.push('created_ms DESC', 'id ASC');
    const sql = `FROM disks WHERE ${where.join(' AND ')}`;
    const total = (this.store.db.prepare(`SELECT COUNT(*) AS n ${sql}`).get(...args) as { n: number }).n;
    const rows = this.store.db
      .prepare(`SELECT * ${sql} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`)
      .all(...args, page.pageSize, (page.pageNumber - 1) * page.pageSize) as Row[];
    return { items: rows.map((r) => this.toDisk(r)), totalCount: total };
  }

  markDiskDeleting(accountId: string, diskId: string): Promise<DeleteOutcome> {
    return this.write('markDiskDeleting', accountId, diskId);
  }

  /** The disk's new size and the order that records the change, together. */
  resizeDisk(accountId: string, diskId: string, sizeMib: number, order: Order): Promise<void> {
    return this.write('resizeDisk', accountId, diskId, sizeMib, order);
  }

  async countCreatingSnapshots(accountId: string, diskId: string): Promise<number> {
    return (this.stmt.countCreatingSnapshots.get(accountId, diskId) as { n: number }).n;
  }

  // --- snapshots ---

  createSnapshot(
    snapshot: Snapshot,
    order: Order,
    policy: SnapshotPolicy,
    jobRunAfterMs: number,
  ): Promise<CreateSnapshotOutcome> {
    return this.write('createSnapshot', snapshot, order, policy, jobRunAfterMs);
  }

  setAccountStanding(accountId: string, change: StandingChange): Promise<AccountStanding | undefined> {
    return this.write('setAccountStanding', accountId, change);
  }

  async getAccountStanding(accountId: string): Promise<AccountStanding | undefined> {
    const row = this.stmt.accountStanding.get(accountId) as Parameters<typeof toStanding>[0] | undefined;
    return row ? toStanding(row) : undefined;
  }

  async listOrders(filter: { accountId?: string; orderId?: string }, page: Page): Promise<PageOf<Order>> {
    const where = { account_id: filter.accountId ?? null, id: filter.orderId ?? null };
    const total = (this.stmt.countOrders.get(where) as { n: number }).n;
    const rows = this.stmt.listOrders.all({
      ...where,
      limit: page.pageSize,
      offset: (page.pageNumber - 1) * page.pageSize,
    }) as Row[];
    return { items: rows.map((row) => fromRow<Order>(row)), totalCount: total };
  }

  async getSnapshot(accountId: string, snapshotId: string): Promise<Snapshot | undefined> {
    const row = this.stmt.getSnapshot.get(accountId, snapshotId) as Row | undefined;
    return row ? toSnapshot(row) : undefined;
  }

  async listSnapshots(accountId: string, filter: SnapshotFilter, page: Page): Promise<PageOf<Snapshot>> {
    const where = ['account_id = ?'];
    const args: unknown[] = [accountId];
    addIn(where, args, 'id', filter.snapshotIds);
    addIn(where, args, 'region_id', filter.regionIds);
    addEq(where, args, 'disk_id', filter.diskId);
    addEq(where, args, 'name', filter.name);
    if (filter.instanceId !== undefined) where.push('0 = 1');
    const sql = `FROM snapshots WHERE ${where.join(' AND ')}`;
    const total = (this.store.db.prepare(`SELECT COUNT(*) AS n ${sql}`).get(...args) as { n: number }).n;
    const rows = this.store.db
      .prepare(`SELECT * ${sql} ORDER BY created_ms DESC, id ASC LIMIT ? OFFSET ?`)
      .all(...args, page.pageSize, (page.pageNumber - 1) * page.pageSize) as Row[];
    return { items: rows.map(toSnapshot), totalCount: total };
  }

  updateSnapshotAttributes(
    accountId: string,
    snapshotId: string,
    change: { name?: string; description?: string },
  ): Promise<boolean> {
    return this.write('updateSnapshotAttributes', accountId, snapshotId, change);
  }

  markSnapshotDeleting(accountId: string, snapshotId: string): Promise<DeleteOutcome> {
    return this.write('markSnapshotDeleting', accountId, snapshotId);
  }

  setSnapshotProgress(snapshotId: string, progress: number): Promise<void> {
    return this.write('setSnapshotProgress', snapshotId, progress);
  }

  markSnapshotError(snapshotId: string, lastError: string): Promise<void> {
    return this.write('markSnapshotError', snapshotId, lastError);
  }

  /** CopySnapshot: every copy (status creating), its order and its snapshot.share job, together. */
  createSnapshotCopies(
    copies: { snapshot: Snapshot; order: Order }[],
    policy: SnapshotPolicy,
  ): Promise<CopySnapshotOutcome> {
    return this.write('createSnapshotCopies', copies, policy);
  }

  // --- jobs ---

  claimJobs(nowMs: number, leaseUntilMs: number, limit: number): Promise<Job[]> {
    return this.write('claimJobs', nowMs, leaseUntilMs, limit);
  }

  completeJob(jobId: number, effect?: JobEffect): Promise<void> {
    return this.write('completeJob', jobId, effect);
  }

  expediteJob(jobId: number, runAfterMs: number): Promise<void> {
    return this.write('expediteJob', jobId, runAfterMs);
  }

  failJob(jobId: number, message: string): Promise<void> {
    return this.write('failJob', jobId, message);
  }

  releaseJob(jobId: number, runAfterMs: number, error: { failed: boolean; message: string }): Promise<void> {
    return this.write('releaseJob', jobId, runAfterMs, error);
  }

  requeueRunningJobs(): Promise<number> {
    return this.write('requeueRunningJobs');
  }

  async countJobs(kind?: JobKind): Promise<{ queued: number; running: number }> {
    const rows = this.stmt.countJobs.all({ kind: kind ?? null }) as { state: string; n: number }[];
    const get = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    return { queued: get('queued'), running: get('running') };
  }

  private toDisk(row: Row): Disk {
    const tags = (this.stmt.getDiskTags.all(row.id) as Row[]).map((t) => ({
      key: t.tag_key as string,
      value: t.value as string,
    }));
    return { ...fromRow<Disk>(row), encrypted: row.encrypted === 1, tags };
  }
}

function settleAll(batch: PendingWrite[], results: WriteOutcome[]): void {
  batch.forEach((item, i) => {
    const [ok, value] = results[i] as WriteOutcome;
    if (ok) item.resolve(value);
    else item.reject(new Error(value));
  });
}

function addEq(where: string[], args: unknown[], column: string, value: string | undefined): void {
  if (value === undefined) return;
  where.push(`${column} = ?`);
  args.push(value);
}

function addIn(where: string[], args: unknown[], column: string, values: string[] | undefined): void {
  if (values === undefined) return;
  if (values.length === 0) {
    where.push('0 = 1');
    return;
  }
  where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
  args.push(...values);
}
