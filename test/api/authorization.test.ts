// RAM authorization on every call, through the official SDKs: an account's root sets up users,
// groups and policies with the RAM API (2015-05-01); each user's key then gets exactly what its
// policies allow. The matrix covers system and custom policies, Action and Resource wildcards,
// explicit Deny beating Allow (directly and through a group), each condition key met and not met,
// and changes (detach, new default version, key disabled or deleted) taking effect on the very
// next request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import { createDisk, createSnapshot, pop, REGION } from '../helpers/fixtures.js';
import { openApi, plain, popCore, sdkError, type Client, type Endpoint } from '../helpers/sdk.js';

type Statement = Record<string, unknown>;
const policy = (...Statement: Statement[]) => JSON.stringify({ Version: '1', Statement });
const allow = (Action: string | string[], extra: Statement = {}): Statement => ({
  Effect: 'Allow',
  Action,
  Resource: '*',
  ...extra,
});
const deny = (Action: string | string[], extra: Statement = {}): Statement => ({
  Effect: 'Deny',
  Action,
  Resource: '*',
  ...extra,
});

describe('RAM authorization', () => {
  let server: Running;
  let root: Client;
  let ram: Client;
  let diskA: string;
  let diskB: string;
  let snapshot: string;
  let serial = 0;

  before(async () => {
    server = await startEnsnap();
    root = pop(server);
    ram = plain(popCore(server, '2015-05-01'));
    diskA = await createDisk(root);
    diskB = await createDisk(root);
    snapshot = await createSnapshot(root, diskA);
  });
  after(() => server.stop());

  /** A new RAM user with the given custom and system policies attached, and an access key. */
  async function user(
    custom: string[] = [],
    system: string[] = [],
  ): Promise<{ name: string; key: Endpoint; keyId: string }> {
    const name = `user-${++serial}`;
    await ram.call('CreateUser', { UserName: name });
    for (const [i, document] of custom.entries()) {
      const policyName = `${name}-p${i}`;
      await ram.call('CreatePolicy', { PolicyName: policyName, PolicyDocument: document }, { body: true });
      await ram.call('AttachPolicyToUser', { PolicyType: 'Custom', PolicyName: policyName, UserName: name });
    }
    for (const policyName of system)
      await ram.call('AttachPolicyToUser', { PolicyType: 'System', PolicyName: policyName, UserName: name });
    const created = await ram.call('CreateAccessKey', { UserName: name });
    const key = created.AccessKey as { AccessKeyId: string; AccessKeySecret: string };
    return {
      name,
      keyId: key.AccessKeyId,
      key: { ...server, accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret },
    };
  }

  async function denied(client: Client, action: string, params: Record<string, string> = {}) {
    const error = await sdkError(() => client.call(action, params));
    assert.equal(error.code, 'NoPermission', `${action}: ${error.code} ${error.message}`);
    assert.equal(error.statusCode, 400);
    // The envelope's Message (each SDK wraps it into its error's message its own way).
    const message = String(error.data.Message);
    assert.match(message, /^Permission denied\. /);
    assert.ok(message.includes(`ens:${action}`), message);
    return error;
  }

  const describeDisks = (client: Client) => client.call('DescribeDisks', { EnsRegionId: REGION });
  const snapshotOf = (client: Client, diskId: string) =>
    client.call('CreateSnapshot', { EnsRegionId: REGION, DiskId: diskId });

  it('a user with no policy may do nothing; the root may do everything', async () => {
    const u = await user();
    for (const client of [pop(u.key), openApi(u.key)]) {
      const error = await denied(client, 'DescribeEnsRegions');
      assert.equal(
        (error.data.AccessDeniedDetail as Record<string, string>).NoPermissionType,
        'ImplicitDeny',
      );
      assert.equal(
        (error.data.AccessDeniedDetail as Record<string, string>).AuthAction,
        'ens:DescribeEnsRegions',
      );
    }
    await root.call('DescribeEnsRegions');
  });

  it('the system policies: read-only lists but cannot create; full access creates', async () => {
    const reader = await user([], ['AliyunENSReadOnlyAccess']);
    const writer = await user([], ['AliyunENSFullAccess']);
    for (const client of [pop(reader.key), openApi(reader.key)]) {
      await describeDisks(client);
      await client.call('DescribeSnapshots', {});
      await denied(client, 'CreateSnapshot', { EnsRegionId: REGION, DiskId: diskA });
      await denied(client, 'DeleteSnapshot', { SnapshotId: snapshot });
    }
    await snapshotOf(openApi(writer.key), diskA);
  });

  it('Action wildcards (* and ?) and case; anything else stays denied', async () => {
    const u = await user([policy(allow(['ens:describe*', 'ens:Create?napshot']))]);
    const client = pop(u.key);
    await describeDisks(client);
    await snapshotOf(client, diskA);
    await denied(client, 'CreateDisk', {
      EnsRegionId: REGION,
      Category: 'cloud_ssd',
      Size: '20',
      InstanceChargeType: 'PostPaid',
    });
    await denied(client, 'DeleteDisk', { DiskId: diskB });
  });

  it('NotAction: everything but what it names', async () => {
    const u = await user([policy({ Effect: 'Allow', NotAction: 'ens:Delete*', Resource: '*' })]);
    await describeDisks(pop(u.key));
    await denied(pop(u.key), 'DeleteSnapshot', { SnapshotId: snapshot });
  });

  it('an explicit Deny beats any Allow, in the same policy, another one, or a group', async () => {
    const direct = await user([policy(allow('ens:*'), deny('ens:CreateSnapshot'))]);
    const split = await user([policy(deny('ens:CreateSnapshot'))], ['AliyunENSFullAccess']);
    const grouped = await user([], ['AliyunENSFullAccess']);
    await ram.call('CreateGroup', { GroupName: 'no-snapshots' });
    await ram.call('CreatePolicy', {
      PolicyName: 'deny-snapshots',
      PolicyDocument: policy(deny('ens:*Snapshot')),
    });
    await ram.call('AttachPolicyToGroup', {
      PolicyType: 'Custom',
      PolicyName: 'deny-snapshots',
      GroupName: 'no-snapshots',
    });
    await snapshotOf(pop(grouped.key), diskA); // allowed until it joins the group
    await ram.call('AddUserToGroup', { UserName: grouped.name, GroupName: 'no-snapshots' });
    for (const u of [direct, split, grouped]) {
      const error = await denied(openApi(u.key), 'CreateSnapshot', { EnsRegionId: REGION, DiskId: diskA });
      assert.equal(
        (error.data.AccessDeniedDetail as Record<string, string>).NoPermissionType,
        'ExplicitDeny',
      );
      await describeDisks(pop(u.key));
    }
    await ram.call('RemoveUserFromGroup', { UserName: grouped.name, GroupName: 'no-snapshots' });
    await snapshotOf(pop(grouped.key), diskA);
  });

  it('Resource: a policy naming one disk allows the call on that disk only', async () => {
    const only = `acs:ens:*:*:disk/${diskA}`;
    const u = await user([policy(allow('ens:CreateSnapshot', { Resource: only }))]);
    await snapshotOf(pop(u.key), diskA);
    await denied(pop(u.key), 'CreateSnapshot', { EnsRegionId: REGION, DiskId: diskB });
  });

  it('conditions: source IP, current time and secure transport, each met and not met', async () => {
    const cases: [Statement, boolean][] = [
      [{ IpAddress: { 'acs:SourceIp': ['127.0.0.1/32', '::1'] } }, true],
      [{ IpAddress: { 'acs:SourceIp': '10.0.0.0/8' } }, false],
      [{ NotIpAddress: { 'acs:SourceIp': '10.0.0.0/8' } }, true],
      [{ DateGreaterThan: { 'acs:CurrentTime': '2020-01-01T00:00:00+08:00' } }, true],
      [{ DateLessThan: { 'acs:CurrentTime': '2020-01-01T00:00:00+08:00' } }, false],
      // ensnap answers plain HTTP here: the transport is not secure.
      [{ Bool: { 'acs:SecureTransport': 'false' } }, true],
      [{ Bool: { 'acs:SecureTransport': 'true' } }, false],
      // Every operator must hold (AND).
      [
        {
          IpAddress: { 'acs:SourceIp': '127.0.0.0/8' },
          DateLessThan: { 'acs:CurrentTime': '2020-01-01T00:00:00Z' },
        },
        false,
      ],
    ];
    for (const [Condition, allowed] of cases) {
      const u = await user([policy(allow('ens:DescribeDisks', { Condition }))]);
      const what = JSON.stringify(Condition);
      if (allowed) await describeDisks(pop(u.key)).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
      else await denied(pop(u.key), 'DescribeDisks', { EnsRegionId: REGION });
    }
  });

  it('RAM calls are authorized too: a user needs ram: actions to manage users', async () => {
    const reader = await user([], ['AliyunENSReadOnlyAccess']);
    const admin = await user([policy(allow('ram:*'))]);
    const error = await sdkError(() =>
      plain(popCore(reader.key, '2015-05-01')).call('CreateUser', { UserName: 'x1' }),
    );
    assert.equal(error.code, 'NoPermission');
    assert.ok(error.message.includes('ram:CreateUser'), error.message);
    await plain(popCore(admin.key, '2015-05-01')).call('CreateUser', { UserName: 'x2' });
  });

  it('changes take effect on the very next request', async () => {
    const u = await user([policy(allow('ens:Describe*'))], ['AliyunENSReadOnlyAccess']);
    const client = pop(u.key);
    await describeDisks(client);
    // A new default version of an attached policy.
    await ram.call('CreatePolicyVersion', {
      PolicyName: `${u.name}-p0`,
      PolicyDocument: policy(deny('ens:DescribeDisks')),
      SetAsDefault: 'true',
    });
    await denied(client, 'DescribeDisks', { EnsRegionId: REGION });
    await ram.call('DetachPolicyFromUser', {
      PolicyType: 'Custom',
      PolicyName: `${u.name}-p0`,
      UserName: u.name,
    });
    await describeDisks(client);
    await ram.call('DetachPolicyFromUser', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSReadOnlyAccess',
      UserName: u.name,
    });
    await denied(client, 'DescribeDisks', { EnsRegionId: REGION });
    // The key: inactive, active again, deleted.
    await ram.call('UpdateAccessKey', { UserName: u.name, UserAccessKeyId: u.keyId, Status: 'Inactive' });
    assert.equal(
      (await sdkError(() => client.call('DescribeEnsRegions'))).code,
      'InvalidAccessKeyId.Inactive',
    );
    await ram.call('UpdateAccessKey', { UserName: u.name, UserAccessKeyId: u.keyId, Status: 'Active' });
    await denied(client, 'DescribeEnsRegions');
    await ram.call('DeleteAccessKey', { UserName: u.name, UserAccessKeyId: u.keyId });
    assert.equal(
      (await sdkError(() => client.call('DescribeEnsRegions'))).code,
      'InvalidAccessKeyId.NotFound',
    );
  });

  it('users of one account are nothing to another account', async () => {
    const operator = plain(popCore(server, '2026-11-01'));
    const created = await operator.call('CreateAccount', { AccountName: 'other' });
    const otherRoot = plain(
      popCore(
        {
          ...server,
          accessKeyId: created.AccessKeyId as string,
          accessKeySecret: created.AccessKeySecret as string,
        },
        '2015-05-01',
      ),
    );
    const error = await sdkError(() => otherRoot.call('GetUser', { UserName: 'user-1' }));
    assert.equal(error.code, 'EntityNotExist.User');
    // The same name is free there.
    await otherRoot.call('CreateUser', { UserName: 'user-1' });
  });
});
