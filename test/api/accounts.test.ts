// Several accounts over the wire: the operator (the first account's root) creates accounts with the
// official SDKs, each account works with its own root key and sees only what is its own, and for
// every operation of the catalog another account's resource answers exactly as a missing one and
// changes nothing. Only the operator manages accounts; root keys rotate; an account with resources
// is not deleted; a deleted key stops working on the next request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EnsnapClient, EnsnapError } from '../../src/client/ensnap-client.js';
import { OPERATIONS } from '../../src/operations/catalog.js';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import {
  assertSdkError,
  createDisk,
  createSnapshot,
  describeDisks,
  describeSnapshots,
  REGION,
  Restartable,
  waitSnapshotStatus,
} from '../helpers/fixtures.js';
import { MiB, sha256 } from '../helpers/images.js';
import {
  ensnapCall,
  openApi,
  plain,
  popCore,
  sdkError,
  type Client,
  type Endpoint,
  type Params,
} from '../helpers/sdk.js';

const RAM_VERSION = '2015-05-01';
const READ_POLICY = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: 'ens:Describe*', Resource: '*' }],
});
const OPERATOR_ACCOUNT = '1000000000000001';
const ACCOUNT_ACTIONS = [
  'CreateAccount',
  'DescribeAccounts',
  'DeleteAccount',
  'DescribeAccountAccessKeys',
  'CreateAccountAccessKey',
  'DeleteAccountAccessKey',
  'ModifyAccountStanding',
  'DescribeOrders',
];

/** An account as the tests use it: its root key, through both SDK cores and the ensnap client. */
interface Tenant extends Endpoint {
  accountId: string;
  pop: Client;
  v3: Client;
  data: EnsnapClient;
}

const tenantOf = (
  server: Running,
  accountId: string,
  accessKeyId: string,
  accessKeySecret: string,
): Tenant => {
  const e: Endpoint = { endpoint: server.endpoint, hostPort: server.hostPort, accessKeyId, accessKeySecret };
  return {
    ...e,
    accountId,
    pop: plain(popCore(e)),
    v3: plain(openApi(e)),
    data: new EnsnapClient({ endpoint: e.endpoint, accessKeyId, accessKeySecret }),
  };
};

async function newTenant(server: Running, operator: Client, name?: string): Promise<Tenant> {
  const r = await ensnapCall(operator, 'CreateAccount', { AccountName: name });
  return tenantOf(server, r.AccountId as string, r.AccessKeyId as string, r.AccessKeySecret as string);
}

/** What a request answered: its fields (RequestId left out) or its error's code, status and message. */
type Outcome =
  { ok: Record<string, unknown> } | { code: string; status: number | undefined; message: string };

async function outcome(request: Promise<unknown>): Promise<Outcome> {
  try {
    const value = await request;
    if (Buffer.isBuffer(value)) return { ok: { bytes: sha256(value) } };
    const fields = Object.entries((value ?? {}) as Record<string, unknown>);
    return { ok: Object.fromEntries(fields.filter(([name]) => name !== 'RequestId')) };
  } catch (error) {
    if (error instanceof EnsnapError)
      return { code: error.code, status: error.status, message: error.message };
    const e = await sdkError(() => Promise.reject(error));
    return { code: e.code, status: e.statusCode, message: String(e.data.Message) };
  }
}

describe('accounts', () => {
  let server: Running;
  let operator: Tenant;

  before(async () => {
    server = await startEnsnap();
    operator = tenantOf(server, OPERATOR_ACCOUNT, server.accessKeyId, server.accessKeySecret);
  });
  after(async () => {
    operator.data.close();
    await server.stop();
  });

  it('the operator creates accounts with either SDK; each new root key works at once', async () => {
    for (const client of [operator.pop, operator.v3]) {
      const r = await ensnapCall(client, 'CreateAccount', {
        AccountName: `team ${client.name}`.slice(0, 40),
      });
      assert.match(r.AccountId as string, /^[0-9]{16}$/, client.name);
      assert.match(r.AccessKeyId as string, /^LTAI[A-Za-z0-9]{20}$/);
      assert.match(r.AccessKeySecret as string, /^[A-Za-z0-9]{30}$/);
      assert.match(r.CreateTime as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const tenant = tenantOf(
        server,
        r.AccountId as string,
        r.AccessKeyId as string,
        r.AccessKeySecret as string,
      );
      for (const sdk of [tenant.pop, tenant.v3]) {
        const diskId = await createDisk(sdk);
        assert.equal((await describeDisks(sdk, { DiskId: diskId })).total, 1, sdk.name);
      }
      const listed = await ensnapCall(client, 'DescribeAccounts', { AccountId: tenant.accountId });
      assert.deepEqual(listed.Accounts, [
        {
          AccountId: tenant.accountId,
          AccountName: r.AccountName,
          CreateTime: r.CreateTime,
          AccessKeyCount: 1,
          DiskCount: 2,
          SnapshotCount: 0,
        },
      ]);
      // The secret is never answered again.
      const keys = await ensnapCall(client, 'DescribeAccountAccessKeys', { AccountId: tenant.accountId });
      const [key, ...others] = keys.AccessKeys as Record<string, unknown>[];
      assert.deepEqual(others, []);
      assert.deepEqual(Object.keys(key ?? {}), ['AccessKeyId', 'Status', 'CreateTime']);
      assert.deepEqual([key?.AccessKeyId, key?.Status], [r.AccessKeyId, 'Active']);
      assert.ok(!JSON.stringify(listed).includes(r.AccessKeySecret as string));
      tenant.data.close();
    }
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++)
      ids.add((await ensnapCall(operator.pop, 'CreateAccount')).AccountId as string);
    assert.equal(ids.size, 5, 'every AccountId is new');

    const all = await ensnapCall(operator.pop, 'DescribeAccounts', { PageSize: 100 });
    assert.equal(all.TotalCount, (all.Accounts as unknown[]).length);
    assert.equal((all.Accounts as { AccountId: string }[])[0]?.AccountId, OPERATOR_ACCOUNT);
    const page = await ensnapCall(operator.pop, 'DescribeAccounts', { PageSize: 2, PageNumber: 2 });
    assert.deepEqual(page.Accounts, (all.Accounts as unknown[]).slice(2, 4));
    const none = await ensnapCall(operator.pop, 'DescribeAccounts', { AccountId: '9999999999999999' });
    assert.deepEqual([none.TotalCount, none.Accounts], [0, []]);

    for (const [params, field] of [
      [{ AccountName: 'x'.repeat(65) }, 'AccountName'],
      [{ AccountName: '-leading' }, 'AccountName'],
    ] as const)
      assertSdkError(
        await sdkError(() => ensnapCall(operator.pop, 'CreateAccount', params)),
        `InvalidParameter.${field}`,
        400,
      );
    assertSdkError(
      await sdkError(() => ensnapCall(operator.pop, 'DeleteAccount', { AccountId: '12' })),
      'InvalidParameter.AccountId',
      400,
    );
  });

  it('every account operation and VerifyStorage refuse any caller but the operator', async () => {
    const a = await newTenant(server, operator.pop, 'a');
    const b = await newTenant(server, operator.pop, 'b');
    const params: Record<string, Params> = {
      CreateAccount: { AccountName: 'sneaky' },
      DescribeAccounts: {},
      DeleteAccount: { AccountId: a.accountId },
      DescribeAccountAccessKeys: { AccountId: a.accountId },
      CreateAccountAccessKey: { AccountId: a.accountId },
      DeleteAccountAccessKey: { AccountId: a.accountId, AccountAccessKeyId: a.accessKeyId },
      ModifyAccountStanding: { AccountId: a.accountId, Frozen: true },
      DescribeOrders: {},
    };
    for (const sdk of [b.pop, b.v3]) {
      for (const action of ACCOUNT_ACTIONS)
        assertSdkError(
          await sdkError(() => ensnapCall(sdk, action, params[action])),
          'NoPermission',
          400,
          `${sdk.name} ${action}`,
        );
      assertSdkError(await sdkError(() => ensnapCall(sdk, 'VerifyStorage')), 'NoPermission', 400, sdk.name);
    }
    // Nothing was done: no account named sneaky, a's key still works and is its only one.
    const names = (
      (await ensnapCall(operator.pop, 'DescribeAccounts', { PageSize: 100 })).Accounts as {
        AccountName: string;
      }[]
    ).map((x) => x.AccountName);
    assert.ok(!names.includes('sneaky'));
    assert.equal((await describeDisks(a.pop)).total, 0);
    const keys = await ensnapCall(operator.pop, 'DescribeAccountAccessKeys', { AccountId: a.accountId });
    assert.equal((keys.AccessKeys as unknown[]).length, 1);
    // The operator may verify.
    assert.equal((await operator.data.verify()).problems.length, 0);
    a.data.close();
    b.data.close();
  });

  it('each account lists only its own disks and snapshots', async () => {
    const a = await newTenant(server, operator.pop, 'lists a');
    const b = await newTenant(server, operator.pop, 'lists b');
    const aDisks = [await createDisk(a.pop), await createDisk(a.v3)];
    const bDisks = [await createDisk(b.pop)];
    const aSnapshots = [await createSnapshot(a.pop, aDisks[0] as string)];
    const bSnapshots = [
      await createSnapshot(b.v3, bDisks[0] as string),
      await createSnapshot(b.pop, bDisks[0] as string),
    ];
    for (const [tenant, disks, snapshots] of [
      [a, aDisks, aSnapshots],
      [b, bDisks, bSnapshots],
    ] as const) {
      for (const sdk of [tenant.pop, tenant.v3]) {
        const listedDisks = await describeDisks(sdk, { PageSize: 50 });
        assert.deepEqual(listedDisks.items.map((d) => d.DiskId).sort(), [...disks].sort(), sdk.name);
        assert.equal(listedDisks.total, disks.length);
        const listedSnapshots = await describeSnapshots(sdk, { PageSize: 100 });
        assert.deepEqual(listedSnapshots.items.map((s) => s.SnapshotId).sort(), [...snapshots].sort());
        assert.equal(listedSnapshots.total, snapshots.length);
      }
    }
    const counts = await ensnapCall(operator.pop, 'DescribeAccounts', { AccountId: b.accountId });
    assert.deepEqual(
      (counts.Accounts as Record<string, unknown>[]).map((x) => [x.DiskCount, x.SnapshotCount]),
      [[1, 2]],
    );
    const mine = await describeDisks(operator.pop, { DiskIds: JSON.stringify([...aDisks, ...bDisks]) });
    assert.equal(mine.total, 0, "the operator's account does not see them either");
    a.data.close();
    b.data.close();
  });

  it("every operation: another account's disk or snapshot answers as a missing one, and nothing changes", async () => {
    const a = await newTenant(server, operator.pop, 'owner');
    const b = await newTenant(server, operator.pop, 'intruder');
    const aDisk = await createDisk(a.pop);
    const content = randomBytes(MiB);
    await a.data.writeDisk(aDisk, 0, content);
    const aSnapshot = await createSnapshot(a.pop, aDisk, { SnapshotName: 'owned' });
    await waitSnapshotStatus(a.pop, aSnapshot, 'available');
    const bDisk = await createDisk(b.pop);
    // a's RAM: a user with a key, in a group, a custom policy attached to both.
    const aRam = (action: string, params: Params) => a.pop.call(action, params, { version: RAM_VERSION });
    await aRam('CreateUser', { UserName: 'alice' });
    const userKey = (await aRam('CreateAccessKey', { UserName: 'alice' })).AccessKey as {
      AccessKeyId: string;
    };
    await aRam('CreateGroup', { GroupName: 'ops' });
    await aRam('AddUserToGroup', { GroupName: 'ops', UserName: 'alice' });
    await aRam('CreatePolicy', { PolicyName: 'readers', PolicyDocument: READ_POLICY });
    await aRam('AttachPolicyToUser', { PolicyType: 'Custom', PolicyName: 'readers', UserName: 'alice' });
    await aRam('AttachPolicyToGroup', { PolicyType: 'Custom', PolicyName: 'readers', GroupName: 'ops' });

    const foreign = {
      diskId: aDisk,
      snapshotId: aSnapshot,
      accountId: a.accountId,
      accessKeyId: a.accessKeyId,
      userName: 'alice',
      userKeyId: userKey.AccessKeyId,
      groupName: 'ops',
      policyName: 'readers',
    };
    const missing = {
      diskId: 'd-' + 'z'.repeat(25),
      snapshotId: 's-' + 'z'.repeat(20),
      accountId: '9999999999999999',
      accessKeyId: 'LTAI' + 'z'.repeat(20),
      userName: 'nobody',
      userKeyId: 'LTAI' + 'y'.repeat(20),
      groupName: 'nogroup',
      policyName: 'nopolicy',
    };
    type Ids = typeof foreign;
    const region = REGION;
    /** Each operation's requests with b's key, on `ids` (a's resources, or ids that do not exist). */
    const cases: Record<string, (sdk: Client, ids: Ids) => Promise<Outcome>[]> = {
      CreateDisk: (sdk, ids) => [
        outcome(
          sdk.call('CreateDisk', {
            EnsRegionId: region,
            Category: 'cloud_ssd',
            InstanceChargeType: 'PostPaid',
            SnapshotId: ids.snapshotId,
          }),
        ),
      ],
      DescribeDisks: (sdk, ids) => [
        outcome(sdk.call('DescribeDisks', { DiskId: ids.diskId })),
        outcome(sdk.call('DescribeDisks', { DiskIds: JSON.stringify([ids.diskId]) })),
        outcome(sdk.call('DescribeDisks', { SnapshotId: ids.snapshotId })),
      ],
      DeleteDisk: (sdk, ids) => [outcome(sdk.call('DeleteDisk', { DiskId: ids.diskId }))],
      ResizeDisk: (sdk, ids) => [outcome(sdk.call('ResizeDisk', { DiskId: ids.diskId, NewSize: 40 }))],
      ResetDisk: (sdk, ids) => [
        outcome(sdk.call('ResetDisk', { DiskId: ids.diskId, SnapshotId: ids.snapshotId })),
        // b's own disk with a's snapshot.
        outcome(sdk.call('ResetDisk', { DiskId: bDisk, SnapshotId: ids.snapshotId })),
      ],
      CreateSnapshot: (sdk, ids) => [
        outcome(sdk.call('CreateSnapshot', { DiskId: ids.diskId, EnsRegionId: region })),
      ],
      DescribeSnapshots: (sdk, ids) => [
        outcome(sdk.call('DescribeSnapshots', { SnapshotId: ids.snapshotId })),
        outcome(sdk.call('DescribeSnapshots', { DiskId: ids.diskId })),
      ],
      ModifySnapshotAttribute: (sdk, ids) => [
        outcome(sdk.call('ModifySnapshotAttribute', { SnapshotId: ids.snapshotId, SnapshotName: 'stolen' })),
      ],
      DeleteSnapshot: (sdk, ids) => [outcome(sdk.call('DeleteSnapshot', { SnapshotId: ids.snapshotId }))],
      CopySnapshot: (sdk, ids) => [
        outcome(
          sdk.call('CopySnapshot', {
            SnapshotId: ids.snapshotId,
            DestinationRegionIds: JSON.stringify([region]),
          }),
        ),
      ],
      // The data plane, through the ensnap client (raw bytes in and out).
      WriteDiskData: (_sdk, ids) => [outcome(b.data.writeDisk(ids.diskId, 0, Buffer.alloc(4096, 1)))],
      ReadDiskData: (_sdk, ids) => [outcome(b.data.readDisk(ids.diskId, 0, 4096))],
      DescribeDiskExtents: (_sdk, ids) => [outcome(b.data.diskExtents(ids.diskId))],
      ReadSnapshotData: (_sdk, ids) => [outcome(b.data.readSnapshot(ids.snapshotId, 0, 4096))],
      DescribeSnapshotExtents: (_sdk, ids) => [outcome(b.data.snapshotExtents(ids.snapshotId))],
      // Whole-store and account operations are the operator's: b is refused whatever the id.
      VerifyStorage: (sdk) => [outcome(ensnapCall(sdk, 'VerifyStorage'))],
      CreateAccount: (sdk) => [outcome(ensnapCall(sdk, 'CreateAccount'))],
      AddFaultRule: (sdk) => [outcome(ensnapCall(sdk, 'AddFaultRule', { MatchAction: '*', LatencyMs: 5 }))],
      DescribeFaultRules: (sdk) => [outcome(ensnapCall(sdk, 'DescribeFaultRules'))],
      ClearFaultRules: (sdk) => [outcome(ensnapCall(sdk, 'ClearFaultRules'))],
      DescribeAccounts: (sdk, ids) => [
        outcome(ensnapCall(sdk, 'DescribeAccounts', { AccountId: ids.accountId })),
      ],
      DeleteAccount: (sdk, ids) => [outcome(ensnapCall(sdk, 'DeleteAccount', { AccountId: ids.accountId }))],
      DescribeAccountAccessKeys: (sdk, ids) => [
        outcome(ensnapCall(sdk, 'DescribeAccountAccessKeys', { AccountId: ids.accountId })),
      ],
      CreateAccountAccessKey: (sdk, ids) => [
        outcome(ensnapCall(sdk, 'CreateAccountAccessKey', { AccountId: ids.accountId })),
      ],
      DeleteAccountAccessKey: (sdk, ids) => [
        outcome(
          ensnapCall(sdk, 'DeleteAccountAccessKey', {
            AccountId: ids.accountId,
            AccountAccessKeyId: ids.accessKeyId,
          }),
        ),
      ],
      ModifyAccountStanding: (sdk, ids) => [
        outcome(ensnapCall(sdk, 'ModifyAccountStanding', { AccountId: ids.accountId, Balance: '5' })),
      ],
      DescribeOrders: (sdk, ids) => [
        outcome(ensnapCall(sdk, 'DescribeOrders', { AccountId: ids.accountId })),
      ],
      // RAM: a's users, keys, groups and policies, named by b (RAM names are per account).
      ...ramCases(),
    };
    function ramCases(): Record<string, (sdk: Client, ids: Ids) => Promise<Outcome>[]> {
      const ram = (sdk: Client, action: string, params: Params) =>
        outcome(sdk.call(action, params, { version: RAM_VERSION }));
      const user = (ids: Ids) => ({ UserName: ids.userName });
      const custom = (ids: Ids) => ({ PolicyType: 'Custom', PolicyName: ids.policyName });
      return {
        GetUser: (sdk, ids) => [ram(sdk, 'GetUser', user(ids))],
        UpdateUser: (sdk, ids) => [ram(sdk, 'UpdateUser', { ...user(ids), NewDisplayName: 'taken' })],
        DeleteUser: (sdk, ids) => [ram(sdk, 'DeleteUser', user(ids))],
        CreateAccessKey: (sdk, ids) => [ram(sdk, 'CreateAccessKey', user(ids))],
        ListAccessKeys: (sdk, ids) => [ram(sdk, 'ListAccessKeys', user(ids))],
        UpdateAccessKey: (sdk, ids) => [
          ram(sdk, 'UpdateAccessKey', { ...user(ids), UserAccessKeyId: ids.userKeyId, Status: 'Inactive' }),
          ram(sdk, 'UpdateAccessKey', { UserAccessKeyId: ids.userKeyId, Status: 'Inactive' }),
        ],
        DeleteAccessKey: (sdk, ids) => [
          ram(sdk, 'DeleteAccessKey', { ...user(ids), UserAccessKeyId: ids.userKeyId }),
          ram(sdk, 'DeleteAccessKey', { UserAccessKeyId: ids.userKeyId }),
        ],
        DeleteGroup: (sdk, ids) => [ram(sdk, 'DeleteGroup', { GroupName: ids.groupName })],
        AddUserToGroup: (sdk, ids) => [
          ram(sdk, 'AddUserToGroup', { ...user(ids), GroupName: ids.groupName }),
        ],
        RemoveUserFromGroup: (sdk, ids) => [
          ram(sdk, 'RemoveUserFromGroup', { ...user(ids), GroupName: ids.groupName }),
        ],
        ListGroupsForUser: (sdk, ids) => [ram(sdk, 'ListGroupsForUser', user(ids))],
        GetPolicy: (sdk, ids) => [ram(sdk, 'GetPolicy', custom(ids))],
        DeletePolicy: (sdk, ids) => [ram(sdk, 'DeletePolicy', { PolicyName: ids.policyName })],
        CreatePolicyVersion: (sdk, ids) => [
          ram(sdk, 'CreatePolicyVersion', { PolicyName: ids.policyName, PolicyDocument: READ_POLICY }),
        ],
        SetDefaultPolicyVersion: (sdk, ids) => [
          ram(sdk, 'SetDefaultPolicyVersion', { PolicyName: ids.policyName, VersionId: 'v1' }),
        ],
        ListPolicyVersions: (sdk, ids) => [ram(sdk, 'ListPolicyVersions', custom(ids))],
        AttachPolicyToUser: (sdk, ids) => [ram(sdk, 'AttachPolicyToUser', { ...custom(ids), ...user(ids) })],
        DetachPolicyFromUser: (sdk, ids) => [
          ram(sdk, 'DetachPolicyFromUser', { ...custom(ids), ...user(ids) }),
        ],
        ListPoliciesForUser: (sdk, ids) => [ram(sdk, 'ListPoliciesForUser', user(ids))],
        AttachPolicyToGroup: (sdk, ids) => [
          ram(sdk, 'AttachPolicyToGroup', { ...custom(ids), GroupName: ids.groupName }),
        ],
        DetachPolicyFromGroup: (sdk, ids) => [
          ram(sdk, 'DetachPolicyFromGroup', { ...custom(ids), GroupName: ids.groupName }),
        ],
        ListEntitiesForPolicy: (sdk, ids) => [ram(sdk, 'ListEntitiesForPolicy', custom(ids))],
      };
    }
    // These name nothing that could be another account's: they act on the caller's account only
    // (b's own user list, b's new user, …); the RAM test shows each account sees only its own.
    const actsOnCallerOnly = [
      'CreateUser',
      'ListUsers',
      'CreateGroup',
      'ListGroups',
      'CreatePolicy',
      'ListPolicies',
    ];
    const covered = OPERATIONS.map((op) => op.action).filter(
      (action) => action !== 'DescribeEnsRegions' && !actsOnCallerOnly.includes(action),
    );
    assert.deepEqual(Object.keys(cases).sort(), covered.sort(), 'a case for every operation of the catalog');

    const state = async () => ({
      aDisks: (await describeDisks(a.pop, { PageSize: 50 })).items,
      aSnapshots: (await describeSnapshots(a.pop, { PageSize: 100 })).items,
      aData: sha256(await a.data.readDisk(aDisk, 0, MiB)),
      aExtents: await a.data.diskExtents(aDisk),
      bDisks: (await describeDisks(b.pop, { PageSize: 50 })).items,
      bSnapshots: (await describeSnapshots(b.pop, { PageSize: 100 })).items,
      accounts: (await ensnapCall(operator.pop, 'DescribeAccounts', { PageSize: 100 })).Accounts,
      aKeys: (await ensnapCall(operator.pop, 'DescribeAccountAccessKeys', { AccountId: a.accountId }))
        .AccessKeys,
      aRam: await Promise.all([
        aRam('GetUser', { UserName: 'alice' }),
        aRam('ListAccessKeys', { UserName: 'alice' }),
        aRam('ListGroupsForUser', { UserName: 'alice' }),
        aRam('ListEntitiesForPolicy', { PolicyType: 'Custom', PolicyName: 'readers' }),
        aRam('ListPolicyVersions', { PolicyType: 'Custom', PolicyName: 'readers' }),
      ]).then((answers) => answers.map(({ RequestId: _, ...rest }) => rest)),
    });
    const before = await state();
    assert.equal(before.aData, sha256(content));

    for (const sdk of [b.pop, b.v3]) {
      for (const [action, requests] of Object.entries(cases)) {
        // One after the other: the answers to a's ids first, then to the missing ones.
        const onForeign: Outcome[] = [];
        for (const request of requests(sdk, foreign)) onForeign.push(await request);
        const onMissing: Outcome[] = [];
        for (const request of requests(sdk, missing)) onMissing.push(await request);
        assert.deepEqual(onForeign, onMissing, `${sdk.name} ${action}`);
        for (const answer of onForeign) {
          // Listings answer (empty); everything else is refused.
          if ('ok' in answer) assert.equal(answer.ok.TotalCount, 0, `${sdk.name} ${action}`);
        }
      }
    }
    assert.deepEqual(await state(), before, "nothing of a's or b's changed");
    for (const t of [a, b]) t.data.close();
  });

  it('root keys rotate: a second one, no third, a deleted one refused on the next request', async () => {
    const t = await newTenant(server, operator.pop, 'rotating');
    await createDisk(t.pop); // the first key is cached by the server now
    const second = await ensnapCall(operator.v3, 'CreateAccountAccessKey', { AccountId: t.accountId });
    assert.equal(second.AccountId, t.accountId);
    assert.equal(second.Status, 'Active');
    assertSdkError(
      await sdkError(() => ensnapCall(operator.pop, 'CreateAccountAccessKey', { AccountId: t.accountId })),
      'LimitExceeded.Account.AccessKey',
      409,
    );
    const rotated = tenantOf(
      server,
      t.accountId,
      second.AccessKeyId as string,
      second.AccessKeySecret as string,
    );
    assert.equal((await describeDisks(rotated.pop)).total, 1, 'the second key is the same account');

    await ensnapCall(operator.pop, 'DeleteAccountAccessKey', {
      AccountId: t.accountId,
      AccountAccessKeyId: t.accessKeyId,
    });
    assertSdkError(await sdkError(() => describeDisks(t.pop)), 'InvalidAccessKeyId.NotFound', 404);
    await assert.rejects(
      t.data.readDisk('d-x', 0, 1),
      (e: EnsnapError) => e.code === 'InvalidAccessKeyId.NotFound',
    );
    assert.equal((await describeDisks(rotated.v3)).total, 1);
    const keys = await ensnapCall(operator.pop, 'DescribeAccountAccessKeys', { AccountId: t.accountId });
    assert.deepEqual(
      (keys.AccessKeys as { AccessKeyId: string }[]).map((k) => k.AccessKeyId),
      [second.AccessKeyId],
    );

    for (const [params, code, status] of [
      [
        { AccountId: t.accountId, AccountAccessKeyId: t.accessKeyId },
        'EntityNotExist.Account.AccessKey',
        404,
      ],
      // Another account's key is not this account's.
      [
        { AccountId: t.accountId, AccountAccessKeyId: server.accessKeyId },
        'EntityNotExist.Account.AccessKey',
        404,
      ],
      [{ AccountId: '9999999999999999', AccountAccessKeyId: t.accessKeyId }, 'EntityNotExist.Account', 404],
    ] as const)
      assertSdkError(
        await sdkError(() => ensnapCall(operator.pop, 'DeleteAccountAccessKey', params)),
        code,
        status,
      );
    for (const action of ['CreateAccountAccessKey', 'DescribeAccountAccessKeys'])
      assertSdkError(
        await sdkError(() => ensnapCall(operator.pop, action, { AccountId: '9999999999999999' })),
        'EntityNotExist.Account',
        404,
      );
    t.data.close();
    rotated.data.close();
  });

  it('an account holding disks or snapshots is not deleted; once empty it is, and its keys stop working', async () => {
    const t = await newTenant(server, operator.pop, 'leaving');
    const diskId = await createDisk(t.pop);
    const snapshotId = await createSnapshot(t.pop, diskId);
    await waitSnapshotStatus(t.pop, snapshotId, 'available');
    const refusal = await sdkError(() =>
      ensnapCall(operator.pop, 'DeleteAccount', { AccountId: t.accountId }),
    );
    assertSdkError(refusal, 'DeleteConflict.Account.Resource', 409);
    assert.match(String(refusal.data.Message), /1 disk\(s\) and 1 snapshot\(s\)/);

    await t.pop.call('DeleteDisk', { DiskId: diskId });
    // The disk is Deleting until its job removed it: still held.
    await t.pop.call('DeleteSnapshot', { SnapshotId: snapshotId });
    for (;;) {
      const held = await ensnapCall(operator.pop, 'DescribeAccounts', { AccountId: t.accountId });
      const [row] = held.Accounts as { DiskCount: number; SnapshotCount: number }[];
      if (row?.DiskCount === 0 && row.SnapshotCount === 0) break;
      // Refused while anything is held; the delete jobs may finish between the listing and this
      // call, and then the account is deleted (the next round sees it gone).
      const attempt = await outcome(ensnapCall(operator.pop, 'DeleteAccount', { AccountId: t.accountId }));
      if ('ok' in attempt) break;
      assert.deepEqual([attempt.code, attempt.status], ['DeleteConflict.Account.Resource', 409]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const gone = await ensnapCall(operator.pop, 'DescribeAccounts', { AccountId: t.accountId });
    if (gone.TotalCount !== 0) {
      const answer = await ensnapCall(operator.v3, 'DeleteAccount', { AccountId: t.accountId });
      assert.deepEqual(Object.keys(answer), ['RequestId']);
    }
    assertSdkError(await sdkError(() => describeDisks(t.pop)), 'InvalidAccessKeyId.NotFound', 404);
    const listed = await ensnapCall(operator.pop, 'DescribeAccounts', { AccountId: t.accountId });
    assert.equal(listed.TotalCount, 0);
    assertSdkError(
      await sdkError(() => ensnapCall(operator.pop, 'DeleteAccount', { AccountId: t.accountId })),
      'EntityNotExist.Account',
      404,
    );
    // Its id is not given out again.
    const next = await ensnapCall(operator.pop, 'CreateAccount');
    assert.ok(BigInt(next.AccountId as string) > BigInt(t.accountId));
    t.data.close();
  });

  it("the operator's own account is not deleted, nor its key changed, through the API", async () => {
    for (const [action, params] of [
      ['DeleteAccount', {}],
      ['CreateAccountAccessKey', {}],
      ['DeleteAccountAccessKey', { AccountAccessKeyId: server.accessKeyId }],
    ] as const)
      assertSdkError(
        await sdkError(() => ensnapCall(operator.pop, action, { AccountId: OPERATOR_ACCOUNT, ...params })),
        'Forbidden.OperatorAccount',
        400,
        action,
      );
    const keys = await ensnapCall(operator.pop, 'DescribeAccountAccessKeys', { AccountId: OPERATOR_ACCOUNT });
    assert.deepEqual(
      (keys.AccessKeys as { AccessKeyId: string }[]).map((k) => k.AccessKeyId),
      [server.accessKeyId],
    );
  });
});

describe('accounts across a restart', () => {
  const server = new Restartable();
  after(() => server.stop());

  it('accounts, their keys and disks stay; the operator stays the operator', async () => {
    let running = await server.start();
    const operator = plain(popCore(running));
    const created = await ensnapCall(operator, 'CreateAccount', { AccountName: 'durable' });
    const key = {
      accessKeyId: created.AccessKeyId as string,
      accessKeySecret: created.AccessKeySecret as string,
    };
    const diskId = await createDisk(plain(popCore({ ...running, ...key })));

    running = await server.start();
    const tenant = plain(popCore({ ...running, ...key }));
    assert.deepEqual(
      (await describeDisks(tenant)).items.map((d) => d.DiskId),
      [diskId],
    );
    const listed = await ensnapCall(plain(popCore(running)), 'DescribeAccounts', {
      AccountId: created.AccountId as string,
    });
    assert.deepEqual(
      (listed.Accounts as Record<string, unknown>[]).map((x) => [
        x.AccountName,
        x.AccessKeyCount,
        x.DiskCount,
      ]),
      [['durable', 1, 1]],
    );
    assertSdkError(await sdkError(() => ensnapCall(tenant, 'DescribeAccounts')), 'NoPermission', 400);
  });

  it("a new configured key replaces the operator's previous one", async () => {
    const before = await server.start();
    const rotated = {
      ENSNAP_ROOT_ACCESS_KEY_ID: 'LTAIrotatedOperator01',
      ENSNAP_ROOT_ACCESS_KEY_SECRET: 'rotated',
    };
    const after = await server.start(rotated);
    const operator = plain(popCore(after));
    const keys = await ensnapCall(operator, 'DescribeAccountAccessKeys', { AccountId: OPERATOR_ACCOUNT });
    assert.deepEqual(
      (keys.AccessKeys as { AccessKeyId: string }[]).map((k) => k.AccessKeyId),
      [rotated.ENSNAP_ROOT_ACCESS_KEY_ID],
    );
    const previous = plain(
      popCore({ ...after, accessKeyId: before.accessKeyId, accessKeySecret: before.accessKeySecret }),
    );
    assertSdkError(await sdkError(() => describeDisks(previous)), 'InvalidAccessKeyId.NotFound', 404);
    await server.start(); // back to the usual key, for the next test
  });

  it("refuses to start with another account's key as the operator's", async () => {
    const running = await server.start();
    const created = await ensnapCall(plain(popCore(running)), 'CreateAccount');
    await assert.rejects(
      server.start({
        ENSNAP_ROOT_ACCESS_KEY_ID: created.AccessKeyId as string,
        ENSNAP_ROOT_ACCESS_KEY_SECRET: created.AccessKeySecret as string,
      }),
      /belongs to another account/,
    );
  });
});
