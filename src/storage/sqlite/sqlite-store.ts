// The SQLite connection and everything that writes through it: pragmas, migrations, prepared
// statements, the write operations of the repository and the group commit that runs a batch of them.
// Used on the thread that owns the writes: the worker in sqlite-writer.ts, or the repository's own
// thread when it writes inline (tests, tools).
//
// Durability: WAL with synchronous=FULL, so a batch is on disk (the WAL fsynced) when its COMMIT
// returns, and nothing is acknowledged before that. Every write requested while the previous batch
// was being committed runs in the next batch: one transaction, each write inside its own savepoint
// (one failure rolls back only itself), one fsync. A batch of nothing but writes whose loss changes
// nothing anyone was told (UNFLUSHED_WRITES) commits without an fsync of its own; the log is
// ordered, so the next durable commit's fsync takes it along.
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type {
  Account,
  AccountStanding,
  Disk,
  Job,
  JobKind,
  Order,
  Snapshot,
  SnapshotPolicy,
  SnapshotQuotas,
} from '../../domain/model.js';
import type {
  CreateRootKeyOutcome,
  CopySnapshotOutcome,
  CreateSnapshotOutcome,
  DeleteAccountOutcome,
  DeleteOutcome,
  DeleteRootKeyOutcome,
  InsertDiskOutcome,
  JobEffect,
  StandingChange,
  StandingRefusal,
} from '../../domain/ports.js';
import { applyMigrations } from './migrate.js';
import { params, type Row } from './rows.js';
import { MIGRATIONS } from './migrations.js';
import { prepareRamStatements, RAM_WRITES, type StoredAccessKey } from './ram-store.js';

export interface Store {
  db: Database.Database;
  stmt: ReturnType<typeof prepareStatements>;
  ram: ReturnType<typeof prepareRamStatements>;
}

/** Opens (and migrates) the database; throws if its schema is newer than this code. */
export function openStore(file: string): Store {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // The savepoint of each write in a group commit keeps a sub-journal that spills to a temporary
    // file past 64 KiB (one file and ~20 pwrite calls per request). It is only for rolling back a
    // savepoint, never for crash recovery (that is the WAL), so it can live in memory.
    db.pragma('temp_store = MEMORY');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    applyMigrations(db, MIGRATIONS);
    return { db, stmt: prepareStatements(db), ram: prepareRamStatements(db) };
  } catch (error) {
    db.close();
    throw error;
  }
}

// --- the writes: each runs inside the batch's transaction, takes and returns plain data ---

/** A queued job, runnable from `runAfterMs` (now unless given). */
function enqueueJob(
  s: Store,
  kind: JobKind,
  accountId: string,
  resourceId: string,
  runAfterMs?: number,
): number {
  const now = Date.now();
  return Number(
    s.stmt.insertJob.run(kind, accountId, resourceId, runAfterMs ?? now, now, now).lastInsertRowid,
  );
}

/** The snapshot row, positional parameters (the hot path: no record conversion per column). */
function insertSnapshot(s: Store, snapshot: Snapshot): void {
  s.stmt.insertSnapshotRow.run(
    snapshot.id,
    snapshot.accountId,
    snapshot.regionId,
    snapshot.diskId,
    snapshot.diskCategory,
    snapshot.diskType,
    snapshot.sizeMib,
    snapshot.name,
    snapshot.description,
    snapshot.status,
    snapshot.progress,
    snapshot.sourceRegionId,
    snapshot.sourceSnapshotId,
    snapshot.orderId,
    snapshot.lastError,
    snapshot.createdMs,
  );
}

function insertOrder(s: Store, order: Order): void {
  s.stmt.insertOrderRow.run(
    order.id,
    order.accountId,
    order.product,
    order.action,
    order.resourceId,
    order.regionId,
    order.state,
    order.amount,
    order.createdMs,
  );
}

/** Currency amounts are kept to the cent. */
const toCents = (amount: number): number => Math.round(amount * 100) / 100;

/**
 * Why the account may not order now, checked as the real service gates an order: an account that
 * is frozen or not real-name verified may not buy at all; one that owes money may not buy more.
 */
function standingRefusal(account: StandingRow | undefined): StandingRefusal | undefined {
  if (!account) return 'account-not-found';
  if (account[0] !== 0) return 'account-frozen';
  if (account[1] === 0) return 'not-real-name-verified';
  if (account[2] > 0) return 'overdue';
  return undefined;
}

/** accounts columns read by every order: frozen, real-name verified, overdue, balance, quotas. */
type StandingRow = [
  frozen: number,
  realNameVerified: number,
  overdue: number,
  balance: number,
  snapshotsPerDisk: number | null,
  snapshotsPerAccount: number | null,
  snapshotCapacityGib: number | null,
];

/** The account's own quotas where the operator set them, else the service's. */
function quotasOf(account: StandingRow, policy: SnapshotPolicy): SnapshotQuotas {
  return {
    snapshotsPerDisk: account[4] ?? policy.quotas.snapshotsPerDisk,
    snapshotsPerAccount: account[5] ?? policy.quotas.snapshotsPerAccount,
    snapshotCapacityGib: account[6] ?? policy.quotas.snapshotCapacityGib,
  };
}

/**
 * Whether `more` further snapshots of `sizeMib` from this disk stay within the quotas (0: no
 * limit). Checked before anything is written: a refusal returns, it does not roll back.
 */
function withinSnapshotQuotas(
  s: Store,
  accountId: string,
  diskId: string,
  sizeMib: number,
  quotas: SnapshotQuotas,
  more = 1,
): boolean {
  // Snapshots being deleted no longer count. The disk is the account's (checked by the caller).
  if (quotas.snapshotsPerDisk > 0) {
    const held = (s.stmt.countDiskSnapshots.get(diskId) as [number])[0];
    if (held + more > quotas.snapshotsPerDisk) return false;
  }
  if (quotas.snapshotsPerAccount > 0 || quotas.snapshotCapacityGib > 0) {
    const [count, mib] = s.stmt.accountSnapshotUsage.get(accountId) as [number, number];
    if (quotas.snapshotsPerAccount > 0 && count + more > quotas.snapshotsPerAccount) return false;
    if (quotas.snapshotCapacityGib > 0 && mib + more * sizeMib > quotas.snapshotCapacityGib * 1024)
      return false;
  }
  return true;
}

/** The account, unless there is none or it was deleted. */
function liveAccount(s: Store, accountId: string): Row | undefined {
  return s.stmt.getLiveAccount.get(accountId) as Row | undefined;
}

/**
 * A root key of the account (no user name), written by upsertAccessKey (which owns how keys are
 * stored). A key id of another account is never taken over.
 */
function putRootAccessKey(s: Store, key: StoredAccessKey, accountName: string): void {
  const existing = s.stmt.getAccessKey.get(key.accessKeyId) as Row | undefined;
  if (existing && existing.account_id !== key.accountId)
    throw new Error(`AccessKeyId ${key.accessKeyId} belongs to another account`);
  WRITES.upsertAccessKey(s, { ...key, userName: null }, accountName);
}

/** Account ids are 16 digits counting up from the first account's (the operator's). */
const FIRST_ACCOUNT_ID = 1000000000000001n;

export const WRITES = {
  ...RAM_WRITES,

  replaceRootAccessKeys(s: Store, key: StoredAccessKey, accountName: string): void {
    putRootAccessKey(s, key, accountName);
    s.stmt.deleteOtherRootAccessKeys.run(key.accountId, key.accessKeyId);
  },

  /** The root key comes sealed; its account id is the new account's, chosen here. */
  createAccount(s: Store, name: string, rootKey: StoredAccessKey): Account {
    const last = (s.stmt.lastAccountId.get() as { id: string | null }).id;
    const account = {
      id: String(last === null ? FIRST_ACCOUNT_ID : BigInt(last) + 1n),
      name,
      createdMs: rootKey.createdMs,
    };
    s.stmt.insertAccount.run(account.id, account.name, account.createdMs);
    putRootAccessKey(s, { ...rootKey, accountId: account.id }, name);
    return account;
  },

  deleteAccount(s: Store, accountId: string): DeleteAccountOutcome {
    if (!liveAccount(s, accountId)) return 'not-found';
    const held = s.stmt.countAccountResources.get(accountId, accountId) as {
      disks: number;
      snapshots: number;
    };
    if (held.disks > 0 || held.snapshots > 0) return { disks: held.disks, snapshots: held.snapshots };
    const accessKeyIds = (s.stmt.accountAccessKeyIds.all(accountId) as Row[]).map(
      (row) => row.access_key_id as string,
    );
    s.stmt.deleteAccountAccessKeys.run(accountId);
    s.stmt.markAccountDeleted.run(Date.now(), accountId);
    return { accessKeyIds };
  },

  createRootAccessKey(s: Store, key: StoredAccessKey, limit: number): CreateRootKeyOutcome {
    const account = liveAccount(s, key.accountId);
    if (!account) return 'account-not-found';
    if ((s.stmt.countRootAccessKeys.get(key.accountId) as { n: number }).n >= limit) return 'limit-reached';
    putRootAccessKey(s, key, account.name as string);
    const row = s.stmt.getAccessKey.get(key.accessKeyId) as Row;
    return { accessKeyId: key.accessKeyId, status: key.status, createdMs: row.created_ms as number };
  },

  deleteRootAccessKey(s: Store, accountId: string, accessKeyId: string): DeleteRootKeyOutcome {
    if (!liveAccount(s, accountId)) return 'account-not-found';
    return s.stmt.deleteRootAccessKey.run(accountId, accessKeyId).changes > 0 ? 'ok' : 'key-not-found';
  },

  insertDisk(s: Store, disk: Disk): InsertDiskOutcome {
    // The account's standing as it is now (the operator may have changed it, or deleted the
    // account, while this request ran).
    const refusal = standingRefusal(s.stmt.accountStanding.get(disk.accountId) as StandingRow | undefined);
    if (refusal) return refusal;
    s.stmt.insertDisk.run(params(disk, ['tags']));
    disk.tags.forEach((tag, position) => s.stmt.insertDiskTag.run(disk.id, position, tag.key, tag.value));
    return 'ok';
  },

  setAccountStanding(s: Store, accountId: string, change: StandingChange): AccountStanding | undefined {
    if (!liveAccount(s, accountId)) return undefined;
    s.stmt.updateAccountStanding.run({
      id: accountId,
      balance: change.balance ?? null,
      overdue: change.overdue ?? null,
      frozen: change.frozen === undefined ? null : Number(change.frozen),
      real_name_verified: change.realNameVerified === undefined ? null : Number(change.realNameVerified),
      snapshots_per_disk: change.snapshotsPerDisk ?? null,
      snapshots_per_account: change.snapshotsPerAccount ?? null,
      snapshot_capacity_gib: change.snapshotCapacityGib ?? null,
    });
    return toStanding(s.stmt.accountStanding.get(accountId) as StandingRow);
  },

  markDiskDeleting(s: Store, accountId: string, diskId: string): DeleteOutcome {
    const row = s.stmt.getDisk.get(accountId, diskId) as Row | undefined;
    if (!row) return 'not-found';
    if (row.status !== 'Available') return 'bad-status';
    s.stmt.setDiskStatus.run('Deleting', diskId);
    enqueueJob(s, 'disk.delete', accountId, diskId);
    return 'ok';
  },

  resizeDisk(s: Store, accountId: string, diskId: string, sizeMib: number, order: Order): void {
    insertOrder(s, order);
    s.stmt.setDiskSize.run(sizeMib, accountId, diskId);
  },

  createSnapshotCopies(
    s: Store,
    copies: { snapshot: Snapshot; order: Order }[],
    policy: SnapshotPolicy,
  ): CopySnapshotOutcome {
    // All copies are of one account, whose standing may have changed (or which the operator may
    // have deleted) while this request ran; each copy counts against its quotas like any snapshot.
    const first = copies[0]?.snapshot;
    if (first === undefined) return 'ok';
    const account = s.stmt.accountStanding.get(first.accountId) as StandingRow | undefined;
    const refusal = standingRefusal(account);
    if (refusal || !account) return refusal ?? 'account-not-found';
    // Copies of one source: one disk, one size; all of them or none.
    const quotas = quotasOf(account, policy);
    if (!withinSnapshotQuotas(s, first.accountId, first.diskId, first.sizeMib, quotas, copies.length))
      return 'quota-exceeded';
    for (const { snapshot, order } of copies) {
      insertOrder(s, order);
      insertSnapshot(s, snapshot);
      enqueueJob(s, 'snapshot.share', snapshot.accountId, snapshot.id);
    }
    return 'ok';
  },

  createSnapshot(
    s: Store,
    snapshot: Snapshot,
    order: Order,
    policy: SnapshotPolicy,
    jobRunAfterMs: number,
  ): CreateSnapshotOutcome {
    // The hot path (one per CreateSnapshot): the disk's five columns as an array, positional
    // parameters (named ones cost a record conversion and a lookup per column).
    const disk = s.stmt.diskForSnapshot.get(snapshot.accountId, snapshot.diskId) as
      [region: string, status: string, category: string, type: string, sizeMib: number] | undefined;
    if (!disk) return 'disk-not-found';
    if (disk[0] !== snapshot.regionId) return 'disk-other-region';
    if (disk[1] !== 'Available' && disk[1] !== 'In-use') return 'disk-bad-status';
    const account = s.stmt.accountStanding.get(snapshot.accountId) as StandingRow | undefined;
    const refusal = standingRefusal(account);
    if (refusal || !account) return refusal ?? 'account-not-found';
    const quotas = quotasOf(account, policy);
    if (!withinSnapshotQuotas(s, snapshot.accountId, snapshot.diskId, disk[4], quotas))
      return 'quota-exceeded';
    // One month of the snapshot's storage at the configured price, paid from the balance.
    const amount = toCents((disk[4] / 1024) * policy.pricePerGibMonth);
    if (amount > 0) {
      if (account[3] < amount) return 'insufficient-balance';
      s.stmt.debitBalance.run(amount, snapshot.accountId);
    }
    insertOrder(s, { ...order, amount });
    // Category, type and size are the disk's, as it is inside this transaction.
    insertSnapshot(s, {
      ...snapshot,
      diskCategory: disk[2] as Snapshot['diskCategory'],
      diskType: disk[3] as Snapshot['diskType'],
      sizeMib: disk[4],
    });
    return { jobId: enqueueJob(s, 'snapshot.create', snapshot.accountId, snapshot.id, jobRunAfterMs) };
  },

  updateSnapshotAttributes(
    s: Store,
    accountId: string,
    snapshotId: string,
    change: { name?: string; description?: string },
  ): boolean {
    const r = s.stmt.updateSnapshotAttributes.run({
      account_id: accountId,
      id: snapshotId,
      name: change.name ?? null,
      description: change.description ?? null,
    });
    return r.changes > 0;
  },

  markSnapshotDeleting(s: Store, accountId: string, snapshotId: string): DeleteOutcome {
    const row = s.stmt.getSnapshot.get(accountId, snapshotId) as Row | undefined;
    if (!row) return 'not-found';
    if (row.status !== 'available' && row.status !== 'error') return 'bad-status';
    s.stmt.setSnapshotStatus.run('deleting', snapshotId);
    enqueueJob(s, 'snapshot.delete', accountId, snapshotId);
    return 'ok';
  },

  setSnapshotProgress(s: Store, snapshotId: string, progress: number): void {
    s.stmt.setSnapshotProgress.run(progress, snapshotId);
  },

  markSnapshotError(s: Store, snapshotId: string, lastError: string): void {
    s.stmt.finishSnapshot.run('error', null, lastError, snapshotId);
  },

  claimJobs(s: Store, nowMs: number, leaseUntilMs: number, limit: number): Job[] {
    return (s.stmt.nextJobs.all(nowMs, limit) as Row[]).map((row) => {
      s.stmt.leaseJob.run(leaseUntilMs, nowMs, row.id);
      return {
        id: row.id as number,
        kind: row.kind as JobKind,
        accountId: row.account_id as string,
        resourceId: row.resource_id as string,
        attempts: row.attempts as number,
        lastError: row.last_error as string,
      };
    });
  },

  completeJob(s: Store, jobId: number, effect?: JobEffect): void {
    if (effect?.type === 'snapshot-available')
      s.stmt.finishSnapshot.run('available', 100, '', effect.snapshotId);
    if (effect?.type === 'snapshot-removed') s.stmt.deleteSnapshot.run(effect.accountId, effect.snapshotId);
    if (effect?.type === 'disk-removed') s.stmt.deleteDisk.run(effect.accountId, effect.diskId);
    s.stmt.finishJob.run('done', '', Date.now(), jobId);
  },

  expediteJob(s: Store, jobId: number, runAfterMs: number): void {
    s.stmt.expediteJob.run(runAfterMs, jobId);
  },

  failJob(s: Store, jobId: number, message: string): void {
    s.stmt.finishJob.run('failed', message, Date.now(), jobId);
  },

  releaseJob(s: Store, jobId: number, runAfterMs: number, error: { failed: boolean; message: string }): void {
    s.stmt.releaseJob.run(error.failed ? 1 : 0, error.message, runAfterMs, Date.now(), jobId);
  },

  requeueRunningJobs(s: Store): number {
    return s.stmt.requeueRunning.run(Date.now()).changes;
  },
};

export type WriteName = keyof typeof WRITES;
type Tail<T> = T extends (s: Store, ...args: infer A) => unknown ? A : never;
export type WriteArgs<N extends WriteName> = Tail<(typeof WRITES)[N]>;
export type WriteResult<N extends WriteName> = ReturnType<(typeof WRITES)[N]>;

/** One write of a batch: its name and arguments (plain data, so it can cross to a worker). */
export type WriteOp = [name: WriteName, args: unknown[]];
/** Per write: [true, result] or [false, error message]. */
export type WriteOutcome = [ok: true, value: unknown] | [ok: false, message: string];

/**
 * Writes that a crash may lose without harm, so that a batch of only these needs no fsync: a
 * job's claim (a restart hands every claimed job back anyway), an earlier run time for a job (it
 * then runs at its first one, a second later) and a progress figure (the copy resumes from its
 * checkpoint and reports again). Each is on the critical path of a snapshot copy, whose own
 * flushes they would otherwise queue beside.
 */
const UNFLUSHED_WRITES: ReadonlySet<WriteName> = new Set<WriteName>([
  'claimJobs',
  'expediteJob',
  'setSnapshotProgress',
]);

/**
 * Runs a batch in one transaction, each write in its own savepoint, and commits (with
 * synchronous=FULL the commit returns once the WAL is on disk; see UNFLUSHED_WRITES). Throws only
 * if the transaction itself fails; then nothing of the batch was written.
 */
export function runBatch(s: Store, batch: readonly WriteOp[]): WriteOutcome[] {
  const unflushed = batch.every(([name]) => UNFLUSHED_WRITES.has(name));
  if (!unflushed) return runTransaction(s, batch);
  s.stmt.synchronousNormal.run();
  try {
    return runTransaction(s, batch);
  } finally {
    s.stmt.synchronousFull.run();
  }
}

function runTransaction(s: Store, batch: readonly WriteOp[]): WriteOutcome[] {
  const { begin, commit, rollback } = s.stmt;
  begin.run();
  try {
    // Almost always every write succeeds: run them without savepoints (three statements fewer per
    // write). If one throws, the whole transaction is rolled back and the batch runs again with a
    // savepoint per write, so the failure rolls back only itself.
    const results: WriteOutcome[] = [];
    let failed = false;
    for (const [name, args] of batch) {
      try {
        results.push([true, (WRITES[name] as AnyWrite)(s, ...args)]);
      } catch {
        failed = true;
        break;
      }
    }
    if (!failed) {
      commit.run();
      return results;
    }
    rollback.run();
    begin.run();
    const isolated = batch.map(([name, args]): WriteOutcome => {
      s.stmt.savepoint.run();
      try {
        const value = (WRITES[name] as AnyWrite)(s, ...args);
        s.stmt.release.run();
        return [true, value];
      } catch (error) {
        s.stmt.rollbackToSavepoint.run();
        s.stmt.release.run();
        return [false, error instanceof Error ? error.message : String(error)];
      }
    });
    commit.run();
    return isolated;
  } catch (error) {
    if (s.db.inTransaction) rollback.run();
    throw error;
  }
}

type AnyWrite = (s: Store, ...args: unknown[]) => unknown;

export function prepareStatements(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    synchronousNormal: p('PRAGMA synchronous = NORMAL'),
    synchronousFull: p('PRAGMA synchronous = FULL'),
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    savepoint: p('SAVEPOINT w'),
    release: p('RELEASE w'),
    rollbackToSavepoint: p('ROLLBACK TO w'),
    accountStanding: p(
      `SELECT frozen, real_name_verified, overdue, balance, snapshots_per_disk, snapshots_per_account,
         snapshot_capacity_gib FROM accounts WHERE id = ? AND deleted_ms IS NULL`,
    ).raw(),
    updateAccountStanding: p(
      `UPDATE accounts SET balance = COALESCE(@balance, balance), overdue = COALESCE(@overdue, overdue),
         frozen = COALESCE(@frozen, frozen), real_name_verified = COALESCE(@real_name_verified, real_name_verified),
         snapshots_per_disk = COALESCE(@snapshots_per_disk, snapshots_per_disk),
         snapshots_per_account = COALESCE(@snapshots_per_account, snapshots_per_account),
         snapshot_capacity_gib = COALESCE(@snapshot_capacity_gib, snapshot_capacity_gib)
       WHERE id = @id`,
    ),
    countOrders: p(
      'SELECT COUNT(*) AS n FROM orders WHERE (@account_id IS NULL OR account_id = @account_id) AND (@id IS NULL OR id = @id)',
    ),
    listOrders: p(
      `SELECT id, account_id, product, action, resource_id, region_id, state, amount, created_ms FROM orders
       WHERE (@account_id IS NULL OR account_id = @account_id) AND (@id IS NULL OR id = @id)
       ORDER BY created_ms DESC, id DESC LIMIT @limit OFFSET @offset`,
    ),
    debitBalance: p('UPDATE accounts SET balance = balance - ? WHERE id = ?'),
    countDiskSnapshots: p("SELECT COUNT(*) FROM snapshots WHERE disk_id = ? AND status <> 'deleting'").raw(),
    accountSnapshotUsage: p(
      "SELECT COUNT(*), COALESCE(SUM(size_mib), 0) FROM snapshots WHERE account_id = ? AND status <> 'deleting'",
    ).raw(),
    diskForSnapshot: p(
      'SELECT region_id, status, category, type, size_mib FROM disks WHERE account_id = ? AND id = ?',
    ).raw(),
    insertOrderRow: p(
      `INSERT INTO orders (id, account_id, product, action, resource_id, region_id, state, amount, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertSnapshotRow: p(
      `INSERT INTO snapshots (id, account_id, region_id, disk_id, disk_category, disk_type, size_mib, name, description,
         status, progress, source_region_id, source_snapshot_id, order_id, last_error, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertAccount: p(
      'INSERT INTO accounts (id, name, created_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
    ),
    getAccessKey: p('SELECT * FROM access_keys WHERE access_key_id = ?'),
    countRootAccessKeys: p(
      'SELECT COUNT(*) AS n FROM access_keys WHERE account_id = ? AND user_name IS NULL',
    ),
    listRootAccessKeys: p(
      'SELECT access_key_id, status, created_ms FROM access_keys WHERE account_id = ? AND user_name IS NULL ORDER BY created_ms, access_key_id',
    ),
    deleteRootAccessKey: p(
      'DELETE FROM access_keys WHERE account_id = ? AND access_key_id = ? AND user_name IS NULL',
    ),
    deleteOtherRootAccessKeys: p(
      'DELETE FROM access_keys WHERE account_id = ? AND access_key_id <> ? AND user_name IS NULL',
    ),
    accountAccessKeyIds: p('SELECT access_key_id FROM access_keys WHERE account_id = ?'),
    deleteAccountAccessKeys: p('DELETE FROM access_keys WHERE account_id = ?'),
    // Ids are all 16 digits, so the largest as text is the largest as a number.
    lastAccountId: p('SELECT MAX(id) AS id FROM accounts'),
    insertAccount: p('INSERT INTO accounts (id, name, created_ms) VALUES (?, ?, ?)'),
    getLiveAccount: p('SELECT * FROM accounts WHERE id = ? AND deleted_ms IS NULL'),
    markAccountDeleted: p('UPDATE accounts SET deleted_ms = ? WHERE id = ?'),
    countAccounts: p(
      'SELECT COUNT(*) AS n FROM accounts WHERE deleted_ms IS NULL AND (@id IS NULL OR id = @id)',
    ),
    // Disks and snapshots are counted on a range of their (account_id, …) index, not the table.
    listAccounts: p(
      `SELECT a.id, a.name, a.created_ms,
         (SELECT COUNT(*) FROM access_keys k WHERE k.account_id = a.id AND k.user_name IS NULL) AS access_key_count,
         (SELECT COUNT(*) FROM disks d WHERE d.account_id = a.id) AS disk_count,
         (SELECT COUNT(*) FROM snapshots n WHERE n.account_id = a.id) AS snapshot_count
       FROM accounts a WHERE a.deleted_ms IS NULL AND (@id IS NULL OR a.id = @id)
       ORDER BY a.id LIMIT @limit OFFSET @offset`,
    ),
    countAccountResources: p(
      `SELECT (SELECT COUNT(*) FROM disks WHERE account_id = ?) AS disks,
              (SELECT COUNT(*) FROM snapshots WHERE account_id = ?) AS snapshots`,
    ),
    insertDisk: p(
      `INSERT INTO disks (id, account_id, region_id, name, description, category, size_mib, status, type, charge_type,
         encrypted, kms_key_id, snapshot_id, created_ms)
       VALUES (@id, @account_id, @region_id, @name, @description, @category, @size_mib, @status, @type, @charge_type,
         @encrypted, @kms_key_id, @snapshot_id, @created_ms)`,
    ),
    insertDiskTag: p('INSERT INTO disk_tags (disk_id, position, tag_key, value) VALUES (?, ?, ?, ?)'),
    getDisk: p('SELECT * FROM disks WHERE account_id = ? AND id = ?'),
    getDiskTags: p('SELECT tag_key, value FROM disk_tags WHERE disk_id = ? ORDER BY position'),
    setDiskStatus: p('UPDATE disks SET status = ? WHERE id = ?'),
    setDiskSize: p('UPDATE disks SET size_mib = ? WHERE account_id = ? AND id = ?'),
    deleteDisk: p('DELETE FROM disks WHERE account_id = ? AND id = ?'),
    countCreatingSnapshots: p(
      "SELECT COUNT(*) AS n FROM snapshots WHERE account_id = ? AND disk_id = ? AND status = 'creating'",
    ),
    getSnapshot: p('SELECT * FROM snapshots WHERE account_id = ? AND id = ?'),
    updateSnapshotAttributes: p(
      `UPDATE snapshots SET name = COALESCE(@name, name), description = COALESCE(@description, description)
       WHERE account_id = @account_id AND id = @id`,
    ),
    setSnapshotStatus: p('UPDATE snapshots SET status = ? WHERE id = ?'),
    setSnapshotProgress: p("UPDATE snapshots SET progress = ? WHERE id = ? AND status = 'creating'"),
    finishSnapshot: p(
      "UPDATE snapshots SET status = ?, progress = COALESCE(?, progress), last_error = ? WHERE id = ? AND status = 'creating'",
    ),
    deleteSnapshot: p('DELETE FROM snapshots WHERE account_id = ? AND id = ?'),
    insertJob: p(
      `INSERT INTO jobs (kind, account_id, resource_id, state, attempts, last_error, run_after_ms, lease_until_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, 'queued', 0, '', ?, 0, ?, ?)`,
    ),
    nextJobs: p(
      "SELECT * FROM jobs WHERE state = 'queued' AND run_after_ms <= ? ORDER BY run_after_ms, id LIMIT ?",
    ),
    leaseJob: p("UPDATE jobs SET state = 'running', lease_until_ms = ?, updated_ms = ? WHERE id = ?"),
    finishJob: p('UPDATE jobs SET state = ?, last_error = ?, updated_ms = ? WHERE id = ?'),
    releaseJob: p(
      "UPDATE jobs SET state = 'queued', attempts = attempts + ?, last_error = ?, run_after_ms = ?, updated_ms = ? WHERE id = ?",
    ),
    expediteJob: p("UPDATE jobs SET run_after_ms = MIN(run_after_ms, ?) WHERE id = ? AND state = 'queued'"),
    requeueRunning: p("UPDATE jobs SET state = 'queued', updated_ms = ? WHERE state = 'running'"),
    countJobs: p(
      "SELECT state, COUNT(*) AS n FROM jobs WHERE (@kind IS NULL OR kind = @kind) AND state IN ('queued', 'running') GROUP BY state",
    ),
  };
}

/** An accountStanding row as the domain's AccountStanding. */
export const toStanding = (row: StandingRow): AccountStanding => ({
  frozen: row[0] !== 0,
  realNameVerified: row[1] !== 0,
  overdue: row[2],
  balance: row[3],
  quotas: { snapshotsPerDisk: row[4], snapshotsPerAccount: row[5], snapshotCapacityGib: row[6] },
});

/** A snapshots row as a Snapshot, field by field (the job runner reads one per snapshot). */
export const toSnapshot = (row: Row): Snapshot => ({
  id: row.id as string,
  accountId: row.account_id as string,
  regionId: row.region_id as string,
  diskId: row.disk_id as string,
  diskCategory: row.disk_category as Snapshot['diskCategory'],
  diskType: row.disk_type as Snapshot['diskType'],
  sizeMib: row.size_mib as number,
  name: row.name as string,
  description: row.description as string,
  status: row.status as Snapshot['status'],
  progress: row.progress as number,
  sourceRegionId: row.source_region_id as string,
  sourceSnapshotId: row.source_snapshot_id as string,
  orderId: row.order_id as string,
  lastError: row.last_error as string,
  createdMs: row.created_ms as number,
});
