// `ensnap account …` as the operator runs it: child processes against a real server. Accounts are
// created, listed (table and JSON), their root keys rotated and the accounts deleted; the keys it
// prints work with the official SDK; refusals print the server's code and exit 1, usage errors 2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensnap, type Run } from '../helpers/cli.js';
import { cliEnv, type Running, startEnsnap } from '../helpers/ensnap.js';
import { createDisk, describeDisks, pop } from '../helpers/fixtures.js';
import { sdkError } from '../helpers/sdk.js';

/** `Name  value` lines as a record. */
function fieldsOf(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\w+)\s{2,}(.*)$/.exec(line);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

describe('ensnap account', () => {
  let server: Running;
  let env: Record<string, string>;
  const run = (...args: string[]): Promise<Run> => ensnap(args, env).done;
  const tenant = (accessKeyId: string, accessKeySecret: string) =>
    pop({ ...server, accessKeyId, accessKeySecret });

  before(async () => {
    server = await startEnsnap();
    env = cliEnv(server);
  });
  after(() => server.stop());

  it('create prints the account and its root key, which works; list shows it, as a table and as JSON', async () => {
    const created = await run('account', 'create', '--name', 'team a');
    assert.equal(created.code, 0, created.stderr);
    const account = fieldsOf(created.stdout);
    assert.match(account.AccountId ?? '', /^[0-9]{16}$/);
    assert.equal(account.AccountName, 'team a');
    assert.match(account.AccessKeyId ?? '', /^LTAI/);
    assert.match(created.stdout, /AccessKeySecret is shown only now/);
    const diskId = await createDisk(tenant(account.AccessKeyId as string, account.AccessKeySecret as string));

    const scripted = await run('account', 'create', '--json');
    assert.equal(scripted.code, 0, scripted.stderr);
    const second = JSON.parse(scripted.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(second), [
      'AccountId',
      'AccountName',
      'CreateTime',
      'AccessKeyId',
      'AccessKeySecret',
    ]);
    assert.equal(second.AccountName, '');

    const table = await run('account', 'list');
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^ACCOUNT ID\s+NAME\s+CREATED\s+KEYS\s+DISKS\s+SNAPSHOTS$/);
    assert.match(lines[1] as string, /^1000000000000001\s+root\s/);
    const row = lines.find((line) => line.startsWith(account.AccountId as string)) ?? '';
    assert.match(row, /\steam a\s+\S+Z\s+1\s+1\s+0$/);
    assert.ok(lines.some((line) => line.startsWith(second.AccountId as string)));

    const listed = await run('account', 'list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const accounts = JSON.parse(listed.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      accounts.find((a) => a.AccountId === account.AccountId),
      {
        AccountId: account.AccountId,
        AccountName: 'team a',
        CreateTime: account.CreateTime,
        AccessKeyCount: 1,
        DiskCount: 1,
        SnapshotCount: 0,
      },
    );
    assert.ok(!listed.stdout.includes(account.AccessKeySecret as string), 'secrets are never listed');
    assert.ok(diskId);
  });

  it('keys rotate: create a second, the third is refused, delete the first', async () => {
    const account = JSON.parse((await run('account', 'create', '--json')).stdout) as Record<string, string>;
    const id = account.AccountId as string;
    const added = await run('account', 'keys', 'create', id);
    assert.equal(added.code, 0, added.stderr);
    const second = fieldsOf(added.stdout);
    assert.equal(second.AccountId, id);
    assert.match(added.stdout, /AccessKeySecret is shown only now/);

    const third = await run('account', 'keys', 'create', id);
    assert.equal(third.code, 1);
    assert.match(third.stderr, /^ensnap: LimitExceeded\.Account\.AccessKey: /);

    const keys = await run('account', 'keys', 'list', id);
    assert.equal(keys.code, 0, keys.stderr);
    assert.match(keys.stdout, /^ACCESS KEY ID\s+STATUS\s+CREATED\n/);
    for (const key of [account.AccessKeyId, second.AccessKeyId])
      assert.match(keys.stdout, new RegExp(`${key}\\s+Active`));

    const deleted = await run('account', 'keys', 'delete', id, account.AccessKeyId as string);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `deleted AccessKey ${account.AccessKeyId} of account ${id}\n`);
    const old = await sdkError(() =>
      describeDisks(tenant(account.AccessKeyId as string, account.AccessKeySecret as string)),
    );
    assert.equal(old.code, 'InvalidAccessKeyId.NotFound');
    assert.equal(
      (await describeDisks(tenant(second.AccessKeyId as string, second.AccessKeySecret as string))).total,
      0,
    );

    const json = await run('account', 'keys', 'list', id, '--json');
    assert.deepEqual(
      (JSON.parse(json.stdout) as { AccessKeyId: string }[]).map((k) => k.AccessKeyId),
      [second.AccessKeyId],
    );
  });

  it('delete refuses an account with disks, then deletes it once they are gone', async () => {
    const account = JSON.parse((await run('account', 'create', '--json')).stdout) as Record<string, string>;
    const ens = tenant(account.AccessKeyId as string, account.AccessKeySecret as string);
    const diskId = await createDisk(ens);
    const refused = await run('account', 'delete', account.AccountId as string);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'ensnap: DeleteConflict.Account.Resource: The account still holds 1 disk(s) and 0 snapshot(s); delete them before deleting the account.\n',
    );
    await ens.call('DeleteDisk', { DiskId: diskId });
    let deleted: Run;
    do deleted = await run('account', 'delete', account.AccountId as string, '--json');
    while (deleted.code === 1 && deleted.stderr.includes('DeleteConflict'));
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(JSON.parse(deleted.stdout), {});
    const again = await run('account', 'delete', account.AccountId as string);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^ensnap: EntityNotExist\.Account: The account does not exist\.\n$/);
    const operator = await run('account', 'delete', '1000000000000001');
    assert.equal(operator.code, 1);
    assert.match(operator.stderr, /^ensnap: Forbidden\.OperatorAccount: /);
  });

  it("only the operator: any other key is refused with the server's answer", async () => {
    const account = JSON.parse((await run('account', 'create', '--json')).stdout) as Record<string, string>;
    const other = {
      ...env,
      ENSNAP_ACCESS_KEY_ID: account.AccessKeyId as string,
      ENSNAP_ACCESS_KEY_SECRET: account.AccessKeySecret as string,
    };
    for (const args of [
      ['account', 'list'],
      ['account', 'create'],
      ['account', 'keys', 'list', account.AccountId as string],
    ]) {
      const r = await ensnap(args, other).done;
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(
        r.stderr,
        "ensnap: NoPermission: Permission denied. Only the operator's root AccessKey may call this action.\n",
        args.join(' '),
      );
      assert.equal(r.stdout, '');
    }
  });

  it('usage: --help documents each command; mistakes exit 2 with one line', async () => {
    const top = await run('--help');
    for (const command of ['account create|list|delete|keys', 'iam user|key|policy|group'])
      assert.ok(top.stdout.includes(command), command);
    for (const args of [
      ['account', '--help'],
      ['account', 'keys', '--help'],
      ['account', 'create', '--help'],
      ['account', 'keys', 'delete', '-h'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^usage: ensnap account create/, args.join(' '));
      assert.match(r.stdout, /ENSNAP_ENDPOINT/);
    }
    const bare = await run('account');
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /^usage: ensnap account/);
    for (const args of [
      ['account', 'frobnicate'],
      ['account', 'delete'],
      ['account', 'delete', '1', '2'],
      ['account', 'create', 'extra'],
      ['account', 'create', '--name'],
      ['account', 'list', '--bogus'],
      ['account', 'keys', 'delete', '1000000000000002'],
      ['account', 'keys', 'rotate', '1000000000000002'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^ensnap: /);
    }
    const noEndpoint = await ensnap(['account', 'list'], { ...env, ENSNAP_ENDPOINT: undefined }).done;
    assert.equal(noEndpoint.code, 2);
    assert.match(noEndpoint.stderr, /ENSNAP_ENDPOINT/);
  });
});
