// The RAM part of the SQLite repository, below the API: what the authorizer reads (every policy of
// a user, through its groups too, and the generation counter), and AccessKeySecrets at rest
// (sealed on write, sealed on first open of an older database, never in the files in plain text).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseSecretKey, resolveSecretKey } from '../../src/config/secret-key.js';
import { SYSTEM_POLICIES } from '../../src/domain/iam/policy.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import { applyMigrations } from '../../src/storage/sqlite/migrate.js';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { SqliteRepository } from '../../src/storage/sqlite/sqlite-repository.js';

const ACCOUNT = '1000000000000001';
const SECRET_KEY = randomBytes(32);
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ensnap-ram-'));
  dirs.push(d);
  return d;
}

async function openRepo(
  file = path.join(tempDir(), 'ensnap.db'),
  writerThread = false,
): Promise<SqliteRepository> {
  const repo = new SqliteRepository(file, { secretKey: SECRET_KEY, writerThread });
  await repo.upsertAccessKey(
    { accessKeyId: 'root', secret: 'rootsecret', accountId: ACCOUNT, status: 'Active' },
    'root',
  );
  return repo;
}

let userIds = 1_000_000_000_000_000;
const user = (userName: string) => ({
  accountId: ACCOUNT,
  userName,
  userId: String(++userIds),
  displayName: '',
  mobilePhone: '',
  email: '',
  comments: '',
  createdMs: 1,
  updatedMs: 1,
});
const policy = (policyName: string) => ({
  accountId: ACCOUNT,
  policyName,
  description: '',
  defaultVersion: 1,
  createdMs: 1,
  updatedMs: 1,
});
const doc = (action: string) =>
  JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });

/** The raw bytes of a database and its WAL, as a copy of the files would hold them. */
function fileBytes(dbFile: string): Buffer {
  return Buffer.concat(
    [dbFile, `${dbFile}-wal`].map((f) => {
      try {
        return readFileSync(f);
      } catch {
        return Buffer.alloc(0);
      }
    }),
  );
}

describe('RAM repository: what the authorizer reads', () => {
  it('policiesForUser: direct and through groups, once each, with the default version of Custom ones', async () => {
    const repo = await openRepo();
    await repo.createUser(user('ann'));
    await repo.createUser(user('ben'));
    await repo.createPolicy(policy('direct'), doc('ens:Describe*'));
    await repo.createPolicy(policy('shared'), doc('ens:CreateSnapshot'));
    await repo.createPolicyVersion(ACCOUNT, 'shared', doc('ens:*'), {
      setAsDefault: true,
      rotate: false,
      maxVersions: 5,
      nowMs: 2,
    });
    await repo.createGroup({
      accountId: ACCOUNT,
      groupName: 'team',
      groupId: 'g-1',
      comments: '',
      createdMs: 1,
      updatedMs: 1,
    });
    await repo.addUserToGroup(ACCOUNT, 'team', 'ann', 1, 5);
    await repo.attachPolicy(
      ACCOUNT,
      { kind: 'user', name: 'ann' },
      { type: 'Custom', name: 'direct' },
      1,
      20,
    );
    await repo.attachPolicy(
      ACCOUNT,
      { kind: 'user', name: 'ann' },
      { type: 'Custom', name: 'shared' },
      1,
      20,
    );
    await repo.attachPolicy(
      ACCOUNT,
      { kind: 'group', name: 'team' },
      { type: 'Custom', name: 'shared' },
      1,
      20,
    );
    const system = SYSTEM_POLICIES[0]?.name as string;
    await repo.attachPolicy(
      ACCOUNT,
      { kind: 'group', name: 'team' },
      { type: 'System', name: system },
      1,
      20,
    );

    assert.deepEqual(await repo.policiesForUser(ACCOUNT, 'ann'), [
      { type: 'Custom', name: 'direct', document: doc('ens:Describe*') },
      { type: 'Custom', name: 'shared', document: doc('ens:*') },
      { type: 'System', name: system },
    ]);
    assert.deepEqual(await repo.policiesForUser(ACCOUNT, 'ben'), []);
    assert.deepEqual(await repo.policiesForUser('2000000000000002', 'ann'), [], 'scoped by account');

    // A rename carries everything along.
    assert.notEqual(await repo.updateUser(ACCOUNT, 'ann', { userName: 'anna' }, 3), 'not-found');
    assert.equal((await repo.policiesForUser(ACCOUNT, 'anna')).length, 3);
    assert.deepEqual(await repo.policiesForUser(ACCOUNT, 'ann'), []);
    await repo.close();
  });

  it('iamGeneration changes with every RAM write of the account, and only then', async () => {
    const repo = await openRepo();
    let last = await repo.iamGeneration(ACCOUNT);
    const changed = async (what: string) => {
      const now = await repo.iamGeneration(ACCOUNT);
      assert.ok(now > last, `${what} changes the generation`);
      last = now;
    };
    await repo.createUser(user('cid'));
    await changed('CreateUser');
    await repo.createAccessKey(
      { accessKeyId: 'k1', secret: 's', accountId: ACCOUNT, status: 'Active', userName: 'cid' },
      1,
      2,
    );
    await changed('CreateAccessKey');
    await repo.setAccessKeyStatus(ACCOUNT, 'cid', 'k1', 'Inactive');
    await changed('UpdateAccessKey');
    await repo.createPolicy(policy('p'), doc('ens:*'));
    await changed('CreatePolicy');
    await repo.attachPolicy(ACCOUNT, { kind: 'user', name: 'cid' }, { type: 'Custom', name: 'p' }, 1, 20);
    await changed('AttachPolicyToUser');
    await repo.setDefaultPolicyVersion(ACCOUNT, 'p', 1, 2);
    await changed('SetDefaultPolicyVersion');
    await repo.detachPolicy(ACCOUNT, { kind: 'user', name: 'cid' }, { type: 'Custom', name: 'p' });
    await changed('DetachPolicyFromUser');
    await repo.deleteAccessKey(ACCOUNT, 'cid', 'k1');
    await changed('DeleteAccessKey');

    await repo.listUsers(ACCOUNT, undefined, 10);
    await repo.policiesForUser(ACCOUNT, 'cid');
    assert.equal(await repo.iamGeneration(ACCOUNT), last, 'reads change nothing');
    assert.equal(await repo.deleteUser(ACCOUNT, 'nobody'), 'not-found');
    assert.equal(await repo.iamGeneration(ACCOUNT), last, 'a refused write changes nothing');
    assert.equal(await repo.iamGeneration('2000000000000002'), 0);
    await repo.close();
  });

  it('iamGeneration is read once, and again after each write that may change it', async () => {
    const file = path.join(tempDir(), 'ensnap.db');
    const repo = await openRepo(file, true);
    const first = await repo.iamGeneration(ACCOUNT);
    // Behind the repository's back (nothing does this but this test): the kept figure stands…
    const other = new Database(file);
    other.prepare('UPDATE accounts SET iam_generation = iam_generation + 100 WHERE id = ?').run(ACCOUNT);
    other.close();
    assert.equal(await repo.iamGeneration(ACCOUNT), first, 'kept, not read again');
    // …through writes that never change it…
    await repo.claimJobs(Date.now(), Date.now() + 1000, 1);
    assert.equal(await repo.iamGeneration(ACCOUNT), first, 'kept across a job claim');
    // …and is read again once a RAM write has been committed, before its caller hears of it.
    await repo.createUser(user('gen'));
    assert.equal(await repo.iamGeneration(ACCOUNT), first + 101, 'read again after CreateUser');
    await repo.close();
  });

  it('findAccessKey names the RAM user of a key, none for a root key', async () => {
    const repo = await openRepo();
    await repo.createUser(user('dee'));
    await repo.createAccessKey(
      { accessKeyId: 'k2', secret: 'deesecret', accountId: ACCOUNT, status: 'Active', userName: 'dee' },
      1,
      2,
    );
    assert.deepEqual(await repo.findAccessKey('k2'), {
      accessKeyId: 'k2',
      secret: 'deesecret',
      accountId: ACCOUNT,
      status: 'Active',
      userName: 'dee',
    });
    assert.deepEqual(await repo.findAccessKey('root'), {
      accessKeyId: 'root',
      secret: 'rootsecret',
      accountId: ACCOUNT,
      status: 'Active',
      userName: undefined,
    });
    await repo.close();
  });
});

describe('AccessKeySecrets sealed at rest', () => {
  it('SecretBox opens only what it sealed, for the same key id, unchanged', () => {
    const box = new SecretBox(SECRET_KEY);
    const sealed = box.seal('PupkTg8jdmau1cXxYacgE736PJabcd', 'LTAIa');
    assert.notEqual(sealed, box.seal('PupkTg8jdmau1cXxYacgE736PJabcd', 'LTAIa'), 'a fresh IV each time');
    assert.equal(box.open(sealed, 'LTAIa'), 'PupkTg8jdmau1cXxYacgE736PJabcd');
    assert.throws(() => box.open(sealed, 'LTAIb'));
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'LTAIa'));
    const bytes = Buffer.from(sealed, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    assert.throws(() => box.open(bytes.toString('base64'), 'LTAIa'));
  });

  it('plain secrets of an older database are sealed on first open, and no copy of them is left in the files', async () => {
    const file = path.join(tempDir(), 'ensnap.db');
    const [first, other, current] = [
      'OldRootSecretNumberOne',
      'AnotherOldKeysSecret01',
      'OldRootSecretNumberTwo000000002',
    ];
    const plainSecrets = [first, other, current] as string[];
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    applyMigrations(old, MIGRATIONS.slice(0, 1));
    old.prepare('INSERT INTO accounts (id, name, created_ms) VALUES (?, ?, 0)').run(ACCOUNT, 'root');
    const upsert = old.prepare(
      `INSERT INTO access_keys (access_key_id, account_id, secret, status, created_ms) VALUES (?, ?, ?, 'Active', 0)
       ON CONFLICT (access_key_id) DO UPDATE SET secret = excluded.secret`,
    );
    // The old upsert rewrote the root key's row at each start: a secret changed to a longer one
    // moves the row, and the old one lingers in the page's free space.
    upsert.run('LTAIold', ACCOUNT, first);
    upsert.run('LTAIother', ACCOUNT, other);
    upsert.run('LTAIold', ACCOUNT, current);
    old.close();
    assert.notEqual(fileBytes(file).indexOf(first), -1, 'the test starts from plain text in free space');

    const repo = new SqliteRepository(file, { secretKey: SECRET_KEY });
    assert.equal((await repo.findAccessKey('LTAIold'))?.secret, current);
    for (const secret of plainSecrets)
      assert.equal(fileBytes(file).indexOf(secret), -1, `${secret} left in the files`);
    await repo.close();
    for (const secret of plainSecrets)
      assert.equal(fileBytes(file).indexOf(secret), -1, `${secret} left after close`);

    assert.throws(
      () => new SqliteRepository(file, { secretKey: randomBytes(32) }),
      /the secret key does not open the access keys stored in the database/,
    );
    const reopened = new SqliteRepository(file, { secretKey: SECRET_KEY });
    assert.equal((await reopened.findAccessKey('LTAIold'))?.secret, current);
    assert.equal((await reopened.findAccessKey('LTAIother'))?.secret, other);
    await reopened.close();
  });

  it('new keys reach the files sealed only', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'ensnap.db');
    const repo = new SqliteRepository(file, { secretKey: SECRET_KEY, writerThread: true });
    await repo.upsertAccessKey(
      { accessKeyId: 'root', secret: 'RootSecretInPlainSight00000001', accountId: ACCOUNT, status: 'Active' },
      'root',
    );
    await repo.createUser(user('eve'));
    await repo.createAccessKey(
      {
        accessKeyId: 'k3',
        secret: 'UserSecretInPlainSight00000001',
        accountId: ACCOUNT,
        status: 'Active',
        userName: 'eve',
      },
      1,
      2,
    );
    for (const secret of ['RootSecretInPlainSight00000001', 'UserSecretInPlainSight00000001'])
      assert.equal(fileBytes(file).indexOf(secret), -1);
    await repo.close();
  });
});

describe('the secret key setting', () => {
  it('ENSNAP_SECRET_KEY takes 32 bytes as hex or base64, and nothing else', () => {
    const key = randomBytes(32);
    for (const text of [
      key.toString('hex'),
      key.toString('base64'),
      key.toString('base64url'),
      ` ${key.toString('hex')}\n`,
    ])
      assert.deepEqual(parseSecretKey(text), key, text);
    for (const text of [
      '',
      'abc',
      randomBytes(16).toString('hex'),
      randomBytes(31).toString('base64'),
      'z'.repeat(64),
    ])
      assert.equal(parseSecretKey(text), undefined, text);
    assert.deepEqual(loadConfig({}, { ENSNAP_SECRET_KEY: key.toString('hex') }).secretKey, key);
    assert.deepEqual(loadConfig({ 'secret-key': key.toString('base64') }, {}).secretKey, key);
    assert.equal(loadConfig({}, {}).secretKey, undefined);
    assert.throws(() => loadConfig({}, { ENSNAP_SECRET_KEY: 'short' }), ConfigError);
  });

  it('without one, a key is generated once into secret.key (owner only) and read from there after', () => {
    const dir = tempDir();
    const key = resolveSecretKey(dir);
    assert.equal(key.length, 32);
    assert.equal(statSync(path.join(dir, 'secret.key')).mode & 0o777, 0o600);
    assert.deepEqual(resolveSecretKey(dir), key);
    const configured = randomBytes(32);
    assert.deepEqual(resolveSecretKey(dir, configured), configured);
  });
});
