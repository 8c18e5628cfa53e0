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
import { Worker } from 'node:worker_threads';
import type {
  AccessKey,
  AccessKeyInfo,
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
} from '../../domain/model.js';
import type {
  CreateRootKeyOutcome,
  CreateSnapshotOutcome,
  DeleteAccountOutcome,
  DeleteOutcome,
  DeleteRootKeyOutcome,
  JobEffect,
  MetadataRepository,
} from '../../domain/ports.js';
import {
  fromRow,
  openStore,
  runBatch,
  toSnapshot,
  type Row,
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
  /** Run the writes on a worker thread (default: inline, on the event loop). */
  writerThread?: boolean;
}

const MAX_IN_FLIGHT = 2;

export class SqliteRepository implements MetadataRepository {
  private readonly store: Store;
  private readonly stmt: Store['stmt'];
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

  constructor(file: string, options: SqliteRepositoryOptions = {}) {
    // Opens and migrates first, so a bad database fails here, before any thread starts.
    this.store = openStore(file);
    this.stmt = this.store.stmt;
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
    settleAll(batch, results);
  }

  private settle(reply: BatchReply): void {
    const batch = this.inFlight.shift();
    if (batch === undefined) return;
    const data = JSON.parse(reply) as BatchReplyData;
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

  upsertAccessKey(key: AccessKey, accountName: string): Promise<void> {
    return this.write('upsertAccessKey', key, accountName);
  }

  async findAccessKey(accessKeyId: string): Promise<AccessKey | undefined> {
    const row = this.stmt.getAccessKey.get(accessKeyId) as Row | undefined;
    if (!row) return undefined;
    return {
      accessKeyId: row.access_key_id as string,
      secret: row.secret as string,
      accountId: row.account_id as string,
      status: row.status as AccessKey['status'],
    };
  }

  // --- accounts (the operator's) ---

  replaceRootAccessKeys(key: AccessKey, accountName: string): Promise<void> {
    return this.write('replaceRootAccessKeys', key, accountName);
  }

  createAccount(name: string, rootKey: { accessKeyId: string; secret: string }): Promise<Account> {
    return this.write('createAccount', name, rootKey);
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
    return this.write('createRootAccessKey', key, limit);
  }

  deleteRootAccessKey(accountId: string, accessKeyId: string): Promise<DeleteRootKeyOutcome> {
    return this.write('deleteRootAccessKey', accountId, accessKeyId);
  }

  // --- disks ---

  insertDisk(disk: Disk): Promise<boolean> {
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

  createSnapshot(snapshot: Snapshot, order: Order): Promise<CreateSnapshotOutcome> {
    return this.write('createSnapshot', snapshot, order);
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
  createSnapshotCopies(copies: { snapshot: Snapshot; order: Order }[]): Promise<boolean> {
    return this.write('createSnapshotCopies', copies);
  }

  // --- jobs ---

  claimJobs(nowMs: number, leaseUntilMs: number, limit: number): Promise<Job[]> {
    return this.write('claimJobs', nowMs, leaseUntilMs, limit);
  }

  completeJob(jobId: number, effect?: JobEffect): Promise<void> {
    return this.write('completeJob', jobId, effect);
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
