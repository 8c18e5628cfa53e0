// The account methods of the SQLite repository: sequential 16-digit ids, the root-key limit, a
// delete refused while the account holds anything, nothing written for a deleted account, and the
// migration that tells the existing (operator's) key apart as a root key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Disk } from '../../src/domain/model.js';
import { applyMigrations } from '../../src/storage/sqlite/migrate.js';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { SqliteRepository } from '../../src/storage/sqlite/sqlite-repository.js';

const OPERATOR = '1000000000000001';

const disk = (id: string, accountId: string): Disk => ({
  id,
  accountId,
  regionId: 'cn-beijing-15',
  name: '',
  description: '',
  category: 'cloud_ssd',
  sizeMib: 20 * 1024,
  status: 'Available',
  type: '2',
  chargeType: 'postpay',
  encrypted: false,
  kmsKeyId: '',
  snapshotId: '',
  createdMs: Date.now(),
  tags: [],
});

describe('account repository', () => {
  let dir: string;
  let repo: SqliteRepository;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ensnap-accounts-'));
    repo = new SqliteRepository(path.join(dir, 'ensnap.db'), { secretKey: randomBytes(32) });
    await repo.replaceRootAccessKeys(
      { accessKeyId: 'operator-key', secret: 's', accountId: OPERATOR, status: 'Active' },
      'root',
    );
  });
  after(async () => {
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives out ids after the operator's, one each, never twice", async () => {
    const [a, b] = await Promise.all([
      repo.createAccount('a', { accessKeyId: 'key-a', secret: 's' }),
      repo.createAccount('b', { accessKeyId: 'key-b', secret: 's' }),
    ]);
    assert.deepEqual([a.id, b.id].sort(), ['1000000000000002', '1000000000000003']);
    assert.equal((await repo.findAccessKey('key-a'))?.accountId, a.id);
    const page = await repo.listAccounts({}, { pageNumber: 1, pageSize: 10 });
    assert.deepEqual(
      page.items.map((x) => [x.id, x.name, x.accessKeyCount, x.diskCount, x.snapshotCount]),
      [
        [OPERATOR, 'root', 1, 0, 0],
        ['1000000000000002', a.id === '1000000000000002' ? 'a' : 'b', 1, 0, 0],
        ['1000000000000003', a.id === '1000000000000003' ? 'a' : 'b', 1, 0, 0],
      ],
    );
  });

  it('an account has at most `limit` root keys; a key of another account is never taken', async () => {
    const account = await repo.createAccount('limited', { accessKeyId: 'key-l1', secret: 's' });
    const key = (id: string) => ({
      accessKeyId: id,
      secret: 's',
      accountId: account.id,
      status: 'Active' as const,
    });
    const second = await repo.createRootAccessKey(key('key-l2'), 2);
    assert.equal(typeof second === 'object' && second.accessKeyId, 'key-l2');
    assert.equal(await repo.createRootAccessKey(key('key-l3'), 2), 'limit-reached');
    assert.equal(
      await repo.createRootAccessKey({ ...key('key-x'), accountId: '9999999999999999' }, 2),
      'account-not-found',
    );
    await assert.rejects(repo.createRootAccessKey(key('operator-key'), 3), /belongs to another account/);
    assert.equal((await repo.findAccessKey('operator-key'))?.accountId, OPERATOR);
    assert.equal(await repo.deleteRootAccessKey(account.id, 'operator-key'), 'key-not-found');
    assert.equal(await repo.deleteRootAccessKey(account.id, 'key-l1'), 'ok');
    assert.deepEqual(
      (await repo.listRootAccessKeys(account.id))?.map((k) => k.accessKeyId),
      ['key-l2'],
    );
  });

  it('deletes only an empty account, with its keys; nothing is written for it afterwards', async () => {
    const account = await repo.createAccount('held', { accessKeyId: 'key-h', secret: 's' });
    assert.equal(await repo.insertDisk(disk('d-held', account.id)), 'ok');
    assert.deepEqual(await repo.deleteAccount(account.id), { disks: 1, snapshots: 0 });
    assert.equal(await repo.markDiskDeleting(account.id, 'd-held'), 'ok');
    const [job] = await repo.claimJobs(Date.now(), Date.now() + 60_000, 10);
    assert.ok(job);
    await repo.completeJob(job.id, { type: 'disk-removed', accountId: account.id, diskId: 'd-held' });

    assert.deepEqual(await repo.deleteAccount(account.id), { accessKeyIds: ['key-h'] });
    assert.equal(await repo.findAccessKey('key-h'), undefined);
    assert.equal(await repo.listRootAccessKeys(account.id), undefined);
    assert.equal(await repo.deleteAccount(account.id), 'not-found');
    assert.equal(
      (await repo.listAccounts({ accountId: account.id }, { pageNumber: 1, pageSize: 10 })).totalCount,
      0,
    );
    // A request of the account still under way when it was deleted writes nothing.
    assert.equal(await repo.insertDisk(disk('d-late', account.id)), 'account-not-found');
    assert.equal(await repo.getDisk(account.id, 'd-late'), undefined);
  });
});

describe('migration 4 (accounts)', () => {
  it('the key a database held before it is a root key of its account', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ensnap-migrate4-'));
    try {
      const file = path.join(dir, 'ensnap.db');
      const db = new Database(file);
      applyMigrations(
        db,
        MIGRATIONS.filter((m) => m.version === 1),
      );
      db.prepare('INSERT INTO accounts (id, name, created_ms) VALUES (?, ?, ?)').run(OPERATOR, 'root', 1);
      db.prepare(
        'INSERT INTO access_keys (access_key_id, account_id, secret, status, created_ms) VALUES (?, ?, ?, ?, ?)',
      ).run('old-key', OPERATOR, 's', 'Active', 1);
      db.close();
      const repo = new SqliteRepository(file, { secretKey: randomBytes(32) });
      try {
        assert.deepEqual(await repo.listRootAccessKeys(OPERATOR), [
          { accessKeyId: 'old-key', status: 'Active', createdMs: 1 },
        ]);
      } finally {
        await repo.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
