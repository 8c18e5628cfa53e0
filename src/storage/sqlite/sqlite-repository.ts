// The embedded metadata repository: one SQLite database in the data directory (better-sqlite3).
//
// Durability: WAL with synchronous=FULL, so a write is on disk when its promise resolves. To keep
// that affordable, writes are group-committed: every write requested in the same event-loop turn
// runs in one transaction (each inside its own savepoint, so one failure rolls back only itself)
// and shares one fsync. better-sqlite3 is synchronous, so a batch never interleaves with a read.
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
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
} from '../../domain/model.js';
import type {
  CreateSnapshotOutcome,
  DeleteOutcome,
  JobEffect,
  MetadataRepository,
} from '../../domain/ports.js';
import { MIGRATIONS } from './migrations.js';

type Row = Record<string, unknown>;

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SqliteRepository implements MetadataRepository {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // The savepoint of each write in a group commit keeps a sub-journal that spills to a temporary
    // file past 64 KiB (one file and ~20 pwrite calls per request). It is only for rolling back a
    // savepoint, never for crash recovery (that is the WAL), so it can live in memory.
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    try {
      migrate(this.db);
      this.stmt = prepareStatements(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  /** Queues `run` for the next group commit; resolves with its result once it is durable. */
  private write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const item of batch) {
        this.db.exec('SAVEPOINT w');
        try {
          results.push({ ok: true, value: item.run() });
          this.db.exec('RELEASE w');
        } catch (error) {
          this.db.exec('ROLLBACK TO w');
          this.db.exec('RELEASE w');
          results.push({ ok: false, value: error });
        }
      }
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const r = results[i] as { ok: boolean; value: unknown };
      if (r.ok) item.resolve(r.value);
      else item.reject(r.value);
    });
  }

  // --- access keys ---

  upsertAccessKey(key: AccessKey, accountName: string): Promise<void> {
    return this.write(() => {
      const now = Date.now();
      this.stmt.upsertAccount.run(key.accountId, accountName, now);
      this.stmt.upsertAccessKey.run(key.accessKeyId, key.accountId, key.secret, key.status, now);
    });
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

  // --- disks ---

  insertDisk(disk: Disk): Promise<void> {
    return this.write(() => {
      this.stmt.insertDisk.run(params(disk, ['tags']));
      disk.tags.forEach((tag, position) =>
        this.stmt.insertDiskTag.run(disk.id, position, tag.key, tag.value),
      );
    });
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
    const total = (this.db.prepare(`SELECT COUNT(*) AS n ${sql}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * ${sql} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`)
      .all(...args, page.pageSize, (page.pageNumber - 1) * page.pageSize) as Row[];
    return { items: rows.map((r) => this.toDisk(r)), totalCount: total };
  }

  markDiskDeleting(accountId: string, diskId: string): Promise<DeleteOutcome> {
    return this.write(() => {
      const row = this.stmt.getDisk.get(accountId, diskId) as Row | undefined;
      if (!row) return 'not-found';
      if (row.status !== 'Available') return 'bad-status';
      this.stmt.setDiskStatus.run('Deleting', diskId);
      this.enqueueJob('disk.delete', accountId, diskId);
      return 'ok';
    });
  }

  /** The disk's new size and the order that records the change, together. */
  resizeDisk(accountId: string, diskId: string, sizeMib: number, order: Order): Promise<void> {
    return this.write(() => {
      this.stmt.insertOrder.run(params(order));
      this.stmt.setDiskSize.run(sizeMib, accountId, diskId);
    });
  }

  async countCreatingSnapshots(accountId: string, diskId: string): Promise<number> {
    return (this.stmt.countCreatingSnapshots.get(accountId, diskId) as { n: number }).n;
  }

  // --- snapshots ---

  createSnapshot(snapshot: Snapshot, order: Order): Promise<CreateSnapshotOutcome> {
    return this.write(() => {
      const disk = this.stmt.getDisk.get(snapshot.accountId, snapshot.diskId) as Row | undefined;
      if (!disk) return 'disk-not-found';
      if (disk.region_id !== snapshot.regionId) return 'disk-other-region';
      if (disk.status !== 'Available' && disk.status !== 'In-use') return 'disk-bad-status';
      this.stmt.insertOrder.run(params(order));
      this.stmt.insertSnapshot.run({
        ...params(snapshot),
        disk_category: disk.category,
        disk_type: disk.type,
        size_mib: disk.size_mib,
      });
      this.enqueueJob('snapshot.create', snapshot.accountId, snapshot.id);
      return 'created';
    });
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
    const total = (this.db.prepare(`SELECT COUNT(*) AS n ${sql}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * ${sql} ORDER BY created_ms DESC, id ASC LIMIT ? OFFSET ?`)
      .all(...args, page.pageSize, (page.pageNumber - 1) * page.pageSize) as Row[];
    return { items: rows.map(toSnapshot), totalCount: total };
  }

  updateSnapshotAttributes(
    accountId: string,
    snapshotId: string,
    change: { name?: string; description?: string },
  ): Promise<boolean> {
    return this.write(() => {
      const r = this.stmt.updateSnapshotAttributes.run({
        account_id: accountId,
        id: snapshotId,
        name: change.name ?? null,
        description: change.description ?? null,
      });
      return r.changes > 0;
    });
  }

  markSnapshotDeleting(accountId: string, snapshotId: string): Promise<DeleteOutcome> {
    return this.write(() => {
      const row = this.stmt.getSnapshot.get(accountId, snapshotId) as Row | undefined;
      if (!row) return 'not-found';
      if (row.status !== 'available' && row.status !== 'error') return 'bad-status';
      this.stmt.setSnapshotStatus.run('deleting', snapshotId);
      this.enqueueJob('snapshot.delete', accountId, snapshotId);
      return 'ok';
    });
  }

  setSnapshotProgress(snapshotId: string, progress: number): Promise<void> {
    return this.write(() => {
      this.stmt.setSnapshotProgress.run(progress, snapshotId);
    });
  }

  markSnapshotError(snapshotId: string, lastError: string): Promise<void> {
    return this.write(() => {
      this.stmt.finishSnapshot.run('error', null, lastError, snapshotId);
    });
  }

  /** CopySnapshot: every copy (status creating), its order and its snapshot.share job, together. */
  createSnapshotCopies(copies: { snapshot: Snapshot; order: Order }[]): Promise<void> {
    return this.write(() => {
      for (const { snapshot, order } of copies) {
        this.stmt.insertOrder.run(params(order));
        this.stmt.insertSnapshot.run(params(snapshot));
        this.enqueueJob('snapshot.share', snapshot.accountId, snapshot.id);
      }
    });
  }

  // --- jobs ---

  private enqueueJob(kind: JobKind, accountId: string, resourceId: string): void {
    const now = Date.now();
    this.stmt.insertJob.run(kind, accountId, resourceId, now, now, now);
  }

  claimJobs(nowMs: number, leaseUntilMs: number, limit: number): Promise<Job[]> {
    return this.write(() =>
      (this.stmt.nextJobs.all(nowMs, limit) as Row[]).map((row) => {
        this.stmt.leaseJob.run(leaseUntilMs, nowMs, row.id);
        return {
          id: row.id as number,
          kind: row.kind as JobKind,
          accountId: row.account_id as string,
          resourceId: row.resource_id as string,
          attempts: row.attempts as number,
          lastError: row.last_error as string,
        };
      }),
    );
  }

  completeJob(jobId: number, effect?: JobEffect): Promise<void> {
    return this.write(() => {
      if (effect?.type === 'snapshot-available')
        this.stmt.finishSnapshot.run('available', 100, '', effect.snapshotId);
      if (effect?.type === 'snapshot-removed')
        this.stmt.deleteSnapshot.run(effect.accountId, effect.snapshotId);
      if (effect?.type === 'disk-removed') this.stmt.deleteDisk.run(effect.accountId, effect.diskId);
      this.stmt.finishJob.run('done', '', Date.now(), jobId);
    });
  }

  failJob(jobId: number, message: string): Promise<void> {
    return this.write(() => {
      this.stmt.finishJob.run('failed', message, Date.now(), jobId);
    });
  }

  releaseJob(jobId: number, runAfterMs: number, error: { failed: boolean; message: string }): Promise<void> {
    return this.write(() => {
      this.stmt.releaseJob.run(error.failed ? 1 : 0, error.message, runAfterMs, Date.now(), jobId);
    });
  }

  requeueRunningJobs(): Promise<number> {
    return this.write(() => this.stmt.requeueRunning.run(Date.now()).changes);
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

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)',
  );
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...MIGRATIONS.map((m) => m.version));
  if (newest > known) {
    throw new Error(
      `the database has schema version ${newest}, newer than this ensnap knows (${known}); upgrade ensnap`,
    );
  }
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    })();
  }
}

function prepareStatements(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    upsertAccount: p(
      'INSERT INTO accounts (id, name, created_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
    ),
    upsertAccessKey: p(
      `INSERT INTO access_keys (access_key_id, account_id, secret, status, created_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id, secret = excluded.secret, status = excluded.status`,
    ),
    getAccessKey: p('SELECT * FROM access_keys WHERE access_key_id = ?'),
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
    insertOrder: p(
      `INSERT INTO orders (id, account_id, product, action, resource_id, region_id, state, created_ms)
       VALUES (@id, @account_id, @product, @action, @resource_id, @region_id, @state, @created_ms)`,
    ),
    insertSnapshot: p(
      `INSERT INTO snapshots (id, account_id, region_id, disk_id, disk_category, disk_type, size_mib, name, description,
         status, progress, source_region_id, source_snapshot_id, order_id, last_error, created_ms)
       VALUES (@id, @account_id, @region_id, @disk_id, @disk_category, @disk_type, @size_mib, @name, @description,
         @status, @progress, @source_region_id, @source_snapshot_id, @order_id, @last_error, @created_ms)`,
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
    requeueRunning: p("UPDATE jobs SET state = 'queued', updated_ms = ? WHERE state = 'running'"),
    countJobs: p(
      "SELECT state, COUNT(*) AS n FROM jobs WHERE (@kind IS NULL OR kind = @kind) AND state IN ('queued', 'running') GROUP BY state",
    ),
  };
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

// Records and rows have the same fields, camelCase in TypeScript and snake_case in SQL.
const toSnake = new Map<string, string>();
const toCamel = new Map<string, string>();

/** A record as named statement parameters: snake_case names, booleans as 0/1, `omit` left out. */
function params(record: object, omit: readonly string[] = []): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(record)) {
    if (omit.includes(key)) continue;
    let name = toSnake.get(key);
    if (name === undefined) {
      name = key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
      toSnake.set(key, name);
    }
    out[name] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return out;
}

/** A row as a record with camelCase names (the caller converts 0/1 back to booleans). */
function fromRow<T>(row: Row): T {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    let name = toCamel.get(column);
    if (name === undefined) {
      name = column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      toCamel.set(column, name);
    }
    out[name] = value;
  }
  return out as T;
}

const toSnapshot = (row: Row): Snapshot => fromRow<Snapshot>(row);
