// The RAM API (2015-05-01) through the official SDK clients: users, access keys, groups, policies
// and their versions, attachments; every answer's shape, every error code, Marker paging, XML, and
// keys that work, stop working when set Inactive and are gone when deleted, on the very next
// request; secrets never in the database files in plain text.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_POLICIES } from '../../src/domain/iam/policy.js';
import { startEnsnap, TEST_KEY, type Running } from '../helpers/ensnap.js';
import { ISO_TIME, REQUEST_ID, Restartable, assertSdkError } from '../helpers/fixtures.js';
import {
  openApi,
  plain,
  popCore,
  sdkError,
  send,
  signV1,
  type Client,
  type Endpoint,
  type Params,
} from '../helpers/sdk.js';

const RAM = '2015-05-01';
const USER_ID = /^[1-9][0-9]{15}$/;
const GROUP_ID = /^g-[A-Za-z0-9]{16}$/;
const ACCESS_KEY_ID = /^LTAI[A-Za-z0-9]{20}$/;
const SECRET = /^[A-Za-z0-9]{30}$/;
const ALLOW_ALL = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: 'ens:*', Resource: '*' }],
});
const ALLOW_DESCRIBE = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: 'ens:Describe*', Resource: '*' }],
});

/** pop-core GET, pop-core POST (form body) and openapi-client V3, all with Version 2015-05-01. */
function ramModes(e: Endpoint): Client[] {
  const pop = plain(popCore(e, RAM));
  const v3 = plain(openApi(e));
  return [
    { name: 'pop-core GET', call: (action, params) => pop.call(action, params) },
    { name: 'pop-core POST', call: (action, params) => pop.call(action, params, { body: true }) },
    { name: 'openapi-client V3', call: (action, params) => v3.call(action, params, { version: RAM }) },
  ];
}

const ram = (e: Endpoint): Client => ramModes(e)[0] as Client;
const builtIn = (name: string) =>
  SYSTEM_POLICIES.find((p) => p.name === name) as (typeof SYSTEM_POLICIES)[number];
const keys = (o: object): string[] => Object.keys(o).sort();
const recent = (time: unknown): boolean => Math.abs(Date.parse(String(time)) - Date.now()) < 120_000;

/** Calls `action` and expects the RAM error `code` with `status`, through pop-core and V3. */
async function expectError(
  e: Endpoint,
  action: string,
  params: Params,
  code: string,
  status: number,
): Promise<void> {
  const [pop, , v3] = ramModes(e) as [Client, Client, Client];
  for (const client of [pop, v3]) {
    assertSdkError(
      await sdkError(() => client.call(action, params)),
      code,
      status,
      `${client.name} ${action}`,
    );
  }
}

/** A client signing with a key pair RAM handed out. */
function withKey(e: Endpoint, key: { AccessKeyId: string; AccessKeySecret: string }): Endpoint {
  return { ...e, accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret };
}

type Key = { AccessKeyId: string; AccessKeySecret: string; Status: string; CreateDate: string };
async function createKey(client: Client, userName?: string): Promise<Key> {
  return (await client.call('CreateAccessKey', { UserName: userName })).AccessKey as Key;
}

describe('RAM users', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('CreateUser, GetUser, UpdateUser, ListUsers, DeleteUser answer as RAM does, in every client mode', async () => {
    for (const [i, client] of ramModes(server).entries()) {
      const name = `user-${i}`;
      const created = await client.call('CreateUser', {
        UserName: name,
        DisplayName: `Name.${i}`,
        MobilePhone: '86-18600008888',
        Email: `u${i}@example.com`,
        Comments: 'This is a cloud computing engineer.',
      });
      assert.deepEqual(keys(created), ['RequestId', 'User'], client.name);
      assert.match(created.RequestId as string, REQUEST_ID);
      const user = created.User as Record<string, string>;
      assert.deepEqual(
        keys(user),
        ['Comments', 'CreateDate', 'DisplayName', 'Email', 'MobilePhone', 'UserId', 'UserName'],
        client.name,
      );
      assert.match(user.UserId as string, USER_ID);
      assert.match(user.CreateDate as string, ISO_TIME);
      assert.ok(recent(user.CreateDate));
      assert.deepEqual(
        { ...user, UserId: '', CreateDate: '' },
        {
          UserId: '',
          UserName: name,
          DisplayName: `Name.${i}`,
          MobilePhone: '86-18600008888',
          Email: `u${i}@example.com`,
          Comments: 'This is a cloud computing engineer.',
          CreateDate: '',
        },
        client.name,
      );

      const got = (await client.call('GetUser', { UserName: name })).User as Record<string, string>;
      assert.deepEqual(got, { ...user, UpdateDate: got.UpdateDate }, client.name);
      assert.match(got.UpdateDate as string, ISO_TIME);

      const renamed = `renamed-${i}`;
      const updated = await client.call('UpdateUser', {
        UserName: name,
        NewUserName: renamed,
        NewDisplayName: 'New.Name',
        NewComments: 'moved',
      });
      assert.deepEqual(keys(updated), ['RequestId', 'User']);
      assert.deepEqual(
        updated.User,
        {
          ...got,
          UserName: renamed,
          DisplayName: 'New.Name',
          Comments: 'moved',
          UpdateDate: (updated.User as Record<string, string>).UpdateDate,
        },
        client.name,
      );
      assertSdkError(
        await sdkError(() => client.call('GetUser', { UserName: name })),
        'EntityNotExist.User',
        404,
      );

      const listed = await client.call('ListUsers');
      assert.deepEqual(keys(listed), ['IsTruncated', 'RequestId', 'Users']);
      assert.equal(listed.IsTruncated, false);
      const users = (listed.Users as { User: Record<string, string>[] }).User;
      assert.deepEqual(
        users.find((u) => u.UserName === renamed),
        updated.User,
        client.name,
      );

      const deleted = await client.call('DeleteUser', { UserName: renamed });
      assert.deepEqual(keys(deleted), ['RequestId']);
      assertSdkError(
        await sdkError(() => client.call('GetUser', { UserName: renamed })),
        'EntityNotExist.User',
        404,
        client.name,
      );
    }
  });

  it('refuses bad names and attributes with RAM codes', async () => {
    const cases: [Params, string][] = [
      [{ UserName: 'x'.repeat(65) }, 'InvalidParameter.UserName.Length'],
      [{ UserName: 'bad name' }, 'InvalidParameter.UserName.InvalidChars'],
      [{ UserName: 'ok', DisplayName: 'd'.repeat(129) }, 'InvalidParameter.DisplayName.Length'],
      [{ UserName: 'ok', DisplayName: 'a/b' }, 'InvalidParameter.DisplayName.InvalidChars'],
      [{ UserName: 'ok', MobilePhone: '18600008888' }, 'InvalidParameter.MobilePhone.Format'],
      [{ UserName: 'ok', Email: 'nobody' }, 'InvalidParameter.Email.Format'],
      [{ UserName: 'ok', Comments: 'c'.repeat(129) }, 'InvalidParameter.Comments.Length'],
      [{}, 'MissingParameter'],
    ];
    for (const [params, code] of cases) await expectError(server, 'CreateUser', params, code, 400);
    await expectError(
      server,
      'UpdateUser',
      { UserName: 'ok', NewUserName: 'a b' },
      'InvalidParameter.NewUserName.InvalidChars',
      400,
    );
    await expectError(server, 'GetUser', { UserName: 'nobody' }, 'EntityNotExist.User', 404);
    await expectError(
      server,
      'UpdateUser',
      { UserName: 'nobody', NewComments: 'x' },
      'EntityNotExist.User',
      404,
    );
    await expectError(server, 'DeleteUser', { UserName: 'nobody' }, 'EntityNotExist.User', 404);
  });

  it('a user name is unique in the account: CreateUser and a rename onto it answer EntityAlreadyExists.User', async () => {
    const client = ram(server);
    await client.call('CreateUser', { UserName: 'taken' });
    await client.call('CreateUser', { UserName: 'other' });
    await expectError(server, 'CreateUser', { UserName: 'taken' }, 'EntityAlreadyExists.User', 409);
    await expectError(
      server,
      'UpdateUser',
      { UserName: 'other', NewUserName: 'taken' },
      'EntityAlreadyExists.User',
      409,
    );
  });

  it('DeleteUser refuses while the user has keys, policies or groups, and then deletes', async () => {
    const client = ram(server);
    await client.call('CreateUser', { UserName: 'busy' });
    const key = await createKey(client, 'busy');
    await client.call('AttachPolicyToUser', {
      UserName: 'busy',
      PolicyType: 'System',
      PolicyName: 'AliyunENSReadOnlyAccess',
    });
    await client.call('CreateGroup', { GroupName: 'busy-team' });
    await client.call('AddUserToGroup', { UserName: 'busy', GroupName: 'busy-team' });

    await expectError(server, 'DeleteUser', { UserName: 'busy' }, 'DeleteConflict.User.AccessKey', 409);
    await client.call('DeleteAccessKey', { UserName: 'busy', UserAccessKeyId: key.AccessKeyId });
    await expectError(server, 'DeleteUser', { UserName: 'busy' }, 'DeleteConflict.User.Policy', 409);
    await client.call('DetachPolicyFromUser', {
      UserName: 'busy',
      PolicyType: 'System',
      PolicyName: 'AliyunENSReadOnlyAccess',
    });
    await expectError(server, 'DeleteUser', { UserName: 'busy' }, 'DeleteConflict.User.Group', 409);
    await client.call('RemoveUserFromGroup', { UserName: 'busy', GroupName: 'busy-team' });
    await client.call('DeleteUser', { UserName: 'busy' });
    await expectError(server, 'GetUser', { UserName: 'busy' }, 'EntityNotExist.User', 404);
  });

  it('a renamed user keeps its keys, groups and policies', async () => {
    const client = ram(server);
    await client.call('CreateUser', { UserName: 'before' });
    const key = await createKey(client, 'before');
    const user = popCore(withKey(server, key));
    await user.call('DescribeEnsRegions');
    await client.call('AttachPolicyToUser', {
      UserName: 'before',
      PolicyType: 'System',
      PolicyName: 'AliyunENSFullAccess',
    });
    await client.call('CreateGroup', { GroupName: 'rename-team' });
    await client.call('AddUserToGroup', { UserName: 'before', GroupName: 'rename-team' });

    await client.call('UpdateUser', { UserName: 'before', NewUserName: 'after' });
    const listed = (await client.call('ListAccessKeys', { UserName: 'after' })).AccessKeys as {
      AccessKey: { AccessKeyId: string }[];
    };
    assert.deepEqual(
      listed.AccessKey.map((k) => k.AccessKeyId),
      [key.AccessKeyId],
    );
    const policies = (await client.call('ListPoliciesForUser', { UserName: 'after' })).Policies as {
      Policy: { PolicyName: string }[];
    };
    assert.deepEqual(
      policies.Policy.map((p) => p.PolicyName),
      ['AliyunENSFullAccess'],
    );
    const groups = (await client.call('ListGroupsForUser', { UserName: 'after' })).Groups as {
      Group: { GroupName: string }[];
    };
    assert.deepEqual(
      groups.Group.map((g) => g.GroupName),
      ['rename-team'],
    );
    // The key still signs, and a key created now belongs to the new name.
    await user.call('DescribeEnsRegions');
    const own = plain(popCore(withKey(server, key), RAM));
    const second = await createKey(own);
    const again = (await client.call('ListAccessKeys', { UserName: 'after' })).AccessKeys as {
      AccessKey: { AccessKeyId: string }[];
    };
    assert.deepEqual(
      again.AccessKey.map((k) => k.AccessKeyId).sort(),
      [key.AccessKeyId, second.AccessKeyId].sort(),
    );
  });
});

describe('RAM paging (Marker, MaxItems)', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  /** Every page of `action`, `maxItems` at a time, following Marker. */
  async function allPages(client: Client, action: string, params: Params, maxItems: number) {
    const pages: Record<string, unknown>[] = [];
    let marker: string | undefined;
    do {
      const page = await client.call(action, { ...params, MaxItems: maxItems, Marker: marker });
      pages.push(page);
      marker = page.IsTruncated ? (page.Marker as string) : undefined;
      if (!page.IsTruncated) assert.ok(!('Marker' in page), 'no Marker on the last page');
    } while (marker !== undefined);
    return pages;
  }

  it('ListUsers pages by name: IsTruncated and Marker until the last page', async () => {
    const client = ram(server);
    const names = ['u-c', 'u-a', 'u-e', 'u-b', 'u-d'];
    for (const name of names) await client.call('CreateUser', { UserName: name });
    for (const mode of ramModes(server)) {
      const pages = await allPages(mode, 'ListUsers', {}, 2);
      assert.deepEqual(
        pages.map((p) => p.IsTruncated),
        [true, true, false],
        mode.name,
      );
      const listed = pages.flatMap((p) =>
        (p.Users as { User: { UserName: string }[] }).User.map((u) => u.UserName),
      );
      assert.deepEqual(listed, [...names].sort(), mode.name);
    }
    const everything = await client.call('ListUsers');
    assert.equal((everything.Users as { User: unknown[] }).User.length, 5, 'MaxItems defaults to 100');
  });

  it('ListGroups pages the same way; ListPolicies walks System then Custom policies', async () => {
    const client = ram(server);
    for (const name of ['g-1', 'g-2', 'g-3']) await client.call('CreateGroup', { GroupName: name });
    const groups = (await allPages(client, 'ListGroups', {}, 2)).flatMap((p) =>
      (p.Groups as { Group: { GroupName: string }[] }).Group.map((g) => g.GroupName),
    );
    assert.deepEqual(groups, ['g-1', 'g-2', 'g-3']);

    for (const name of ['p-b', 'p-a', 'p-c'])
      await client.call('CreatePolicy', { PolicyName: name, PolicyDocument: ALLOW_ALL });
    const policies = (await allPages(client, 'ListPolicies', {}, 1)).flatMap((p) =>
      (p.Policies as { Policy: { PolicyType: string; PolicyName: string }[] }).Policy.map(
        (x) => `${x.PolicyType}:${x.PolicyName}`,
      ),
    );
    assert.deepEqual(policies, [
      'System:AliyunENSFullAccess',
      'System:AliyunENSReadOnlyAccess',
      'Custom:p-a',
      'Custom:p-b',
      'Custom:p-c',
    ]);
    const custom = (await allPages(client, 'ListPolicies', { PolicyType: 'Custom' }, 2)).flatMap((p) =>
      (p.Policies as { Policy: { PolicyName: string }[] }).Policy.map((x) => x.PolicyName),
    );
    assert.deepEqual(custom, ['p-a', 'p-b', 'p-c']);
  });

  it('refuses a MaxItems out of 1–1000 and a Marker it did not hand out', async () => {
    await expectError(server, 'ListUsers', { MaxItems: 0 }, 'InvalidParameter.MaxItems', 400);
    await expectError(server, 'ListUsers', { MaxItems: 1001 }, 'InvalidParameter.MaxItems', 400);
    await expectError(server, 'ListUsers', { Marker: '!!' }, 'InvalidParameter.Marker', 400);
    await expectError(server, 'ListPolicies', { Marker: 'bm9wZQ' }, 'InvalidParameter.Marker', 400);
  });
});

describe('RAM access keys', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
    await ram(server).call('CreateUser', { UserName: 'alice' });
    await ram(server).call('CreateUser', { UserName: 'bob' });
  });
  after(() => server.stop());

  it('CreateAccessKey returns the secret once; the key signs v1 and V3 calls at once', async () => {
    for (const client of ramModes(server)) {
      await client.call('CreateUser', { UserName: `signer-${client.name.replace(/\W/g, '')}` });
      const created = await client.call('CreateAccessKey', {
        UserName: `signer-${client.name.replace(/\W/g, '')}`,
      });
      assert.deepEqual(keys(created), ['AccessKey', 'RequestId']);
      const key = created.AccessKey as Key;
      assert.deepEqual(keys(key), ['AccessKeyId', 'AccessKeySecret', 'CreateDate', 'Status'], client.name);
      assert.match(key.AccessKeyId, ACCESS_KEY_ID);
      assert.match(key.AccessKeySecret, SECRET);
      assert.equal(key.Status, 'Active');
      assert.match(key.CreateDate, ISO_TIME);
      assert.ok(recent(key.CreateDate));
      const regions = await popCore(withKey(server, key)).call('DescribeEnsRegions');
      assert.equal(regions.Code, 0);
      await openApi(withKey(server, key)).call('DescribeEnsRegions');
    }
  });

  it('ListAccessKeys shows id, status and date, never the secret; at most two keys per user', async () => {
    const client = ram(server);
    const first = await createKey(client, 'alice');
    const second = await createKey(client, 'alice');
    const listed = await client.call('ListAccessKeys', { UserName: 'alice' });
    assert.deepEqual(keys(listed), ['AccessKeys', 'RequestId']);
    assert.deepEqual((listed.AccessKeys as { AccessKey: unknown[] }).AccessKey, [
      { AccessKeyId: first.AccessKeyId, Status: 'Active', CreateDate: first.CreateDate },
      { AccessKeyId: second.AccessKeyId, Status: 'Active', CreateDate: second.CreateDate },
    ]);
    await expectError(server, 'CreateAccessKey', { UserName: 'alice' }, 'LimitExceeded.User.AccessKey', 409);
    await expectError(server, 'CreateAccessKey', { UserName: 'nobody' }, 'EntityNotExist.User', 404);
    await expectError(server, 'ListAccessKeys', { UserName: 'nobody' }, 'EntityNotExist.User', 404);
  });

  it('a RAM user without UserName creates and lists its own keys', async () => {
    const client = ram(server);
    const key = await createKey(client, 'bob');
    const bob = plain(popCore(withKey(server, key), RAM));
    const own = await createKey(bob);
    const listed = (await bob.call('ListAccessKeys')).AccessKeys as { AccessKey: { AccessKeyId: string }[] };
    assert.deepEqual(
      listed.AccessKey.map((k) => k.AccessKeyId),
      [key.AccessKeyId, own.AccessKeyId],
    );
    // The root's own keys are its root keys.
    const rootKeys = (await client.call('ListAccessKeys')).AccessKeys as {
      AccessKey: { AccessKeyId: string }[];
    };
    assert.deepEqual(
      rootKeys.AccessKey.map((k) => k.AccessKeyId),
      [TEST_KEY.id],
    );
  });

  it('an Inactive key is refused on the very next request, Active again works; a deleted key is not found', async () => {
    const client = ram(server);
    await client.call('CreateUser', { UserName: 'carol' });
    const key = await createKey(client, 'carol');
    for (const user of [popCore(withKey(server, key)), openApi(withKey(server, key))]) {
      await user.call('DescribeEnsRegions'); // now in the authenticator's cache
      assert.deepEqual(
        keys(
          await client.call('UpdateAccessKey', {
            UserName: 'carol',
            UserAccessKeyId: key.AccessKeyId,
            Status: 'Inactive',
          }),
        ),
        ['RequestId'],
      );
      assertSdkError(
        await sdkError(() => user.call('DescribeEnsRegions')),
        'InvalidAccessKeyId.Inactive',
        400,
        user.name,
      );
      const listed = (await client.call('ListAccessKeys', { UserName: 'carol' })).AccessKeys as {
        AccessKey: { Status: string }[];
      };
      assert.equal(listed.AccessKey[0]?.Status, 'Inactive');
      await client.call('UpdateAccessKey', {
        UserName: 'carol',
        UserAccessKeyId: key.AccessKeyId,
        Status: 'Active',
      });
      await user.call('DescribeEnsRegions');
    }
    const user = popCore(withKey(server, key));
    assert.deepEqual(
      keys(await client.call('DeleteAccessKey', { UserName: 'carol', UserAccessKeyId: key.AccessKeyId })),
      ['RequestId'],
    );
    assertSdkError(await sdkError(() => user.call('DescribeEnsRegions')), 'InvalidAccessKeyId.NotFound', 404);
  });

  it("UpdateAccessKey and DeleteAccessKey find only the named user's keys", async () => {
    const client = ram(server);
    await client.call('CreateUser', { UserName: 'dave' });
    const key = await createKey(client, 'dave');
    for (const action of ['UpdateAccessKey', 'DeleteAccessKey']) {
      const params = {
        UserAccessKeyId: key.AccessKeyId,
        Status: action === 'UpdateAccessKey' ? 'Inactive' : undefined,
      };
      await expectError(
        server,
        action,
        { ...params, UserName: 'alice' },
        'EntityNotExist.User.AccessKey',
        404,
      );
      await expectError(server, action, { ...params, UserName: 'nobody' }, 'EntityNotExist.User', 404);
      await expectError(
        server,
        action,
        { ...params, UserName: 'dave', UserAccessKeyId: 'LTAInope' },
        'EntityNotExist.User.AccessKey',
        404,
      );
      // Without UserName the root means its own (root) keys.
      await expectError(server, action, params, 'EntityNotExist.User.AccessKey', 404);
    }
    await expectError(
      server,
      'UpdateAccessKey',
      { UserName: 'dave', UserAccessKeyId: key.AccessKeyId, Status: 'Off' },
      'InvalidParameter.Status',
      400,
    );
    await expectError(
      server,
      'UpdateAccessKey',
      { UserName: 'dave', Status: 'Active' },
      'MissingParameter',
      400,
    );
  });
});

describe('RAM policies', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
    await ram(server).call('CreateUser', { UserName: 'erin' });
    await ram(server).call('CreateGroup', { GroupName: 'ops' });
  });
  after(() => server.stop());

  it('CreatePolicy, GetPolicy, ListPolicies answer as RAM does, in every client mode', async () => {
    for (const [i, client] of ramModes(server).entries()) {
      const name = `describe-only-${i}`;
      const created = await client.call('CreatePolicy', {
        PolicyName: name,
        PolicyDocument: ALLOW_DESCRIBE,
        Description: 'Describe ENS resources',
      });
      assert.deepEqual(keys(created), ['Policy', 'RequestId']);
      const policy = created.Policy as Record<string, unknown>;
      assert.deepEqual(
        { ...policy, CreateDate: '' },
        {
          PolicyName: name,
          PolicyType: 'Custom',
          Description: 'Describe ENS resources',
          DefaultVersion: 'v1',
          CreateDate: '',
        },
      );
      assert.ok(recent(policy.CreateDate));

      const got = await client.call('GetPolicy', { PolicyType: 'Custom', PolicyName: name });
      assert.deepEqual(keys(got), ['DefaultPolicyVersion', 'Policy', 'RequestId']);
      assert.deepEqual(got.Policy, {
        ...policy,
        UpdateDate: policy.CreateDate,
        AttachmentCount: 0,
      });
      assert.deepEqual(got.DefaultPolicyVersion, {
        VersionId: 'v1',
        IsDefaultVersion: true,
        PolicyDocument: ALLOW_DESCRIBE,
        CreateDate: policy.CreateDate,
      });

      const listed = await client.call('ListPolicies', { PolicyType: 'Custom' });
      assert.deepEqual(keys(listed), ['IsTruncated', 'Policies', 'RequestId']);
      assert.deepEqual(
        (listed.Policies as { Policy: Record<string, unknown>[] }).Policy.find((p) => p.PolicyName === name),
        got.Policy,
      );
    }
  });

  it('the system policies AliyunENSFullAccess and AliyunENSReadOnlyAccess are listed, readable and attachable', async () => {
    const client = ram(server);
    const listed = await client.call('ListPolicies', { PolicyType: 'System' });
    const system = (listed.Policies as { Policy: Record<string, unknown>[] }).Policy;
    assert.deepEqual(
      system.map((p) => p.PolicyName),
      ['AliyunENSFullAccess', 'AliyunENSReadOnlyAccess'],
    );
    for (const p of system) {
      assert.deepEqual(keys(p), [
        'AttachmentCount',
        'CreateDate',
        'DefaultVersion',
        'Description',
        'PolicyName',
        'PolicyType',
        'UpdateDate',
      ]);
      assert.equal(p.PolicyType, 'System');
      assert.equal(p.DefaultVersion, 'v1');
      assert.equal(p.Description, builtIn(p.PolicyName as string).description);
    }
    for (const name of ['AliyunENSFullAccess', 'AliyunENSReadOnlyAccess']) {
      const got = await client.call('GetPolicy', { PolicyType: 'System', PolicyName: name });
      assert.deepEqual(got.DefaultPolicyVersion, {
        VersionId: 'v1',
        IsDefaultVersion: true,
        PolicyDocument: builtIn(name).document,
        CreateDate: (got.Policy as { CreateDate: string }).CreateDate,
      });
    }

    await client.call('AttachPolicyToUser', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSReadOnlyAccess',
      UserName: 'erin',
    });
    const after = await client.call('GetPolicy', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSReadOnlyAccess',
    });
    assert.equal((after.Policy as { AttachmentCount: number }).AttachmentCount, 1);
    await client.call('DetachPolicyFromUser', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSReadOnlyAccess',
      UserName: 'erin',
    });
    await expectError(
      server,
      'GetPolicy',
      { PolicyType: 'System', PolicyName: 'AliyunECSFullAccess' },
      'EntityNotExist.Policy',
      404,
    );
    await expectError(
      server,
      'CreatePolicy',
      { PolicyName: 'AliyunENSFullAccess', PolicyDocument: ALLOW_ALL },
      'EntityAlreadyExists.Policy',
      409,
    );
  });

  it('versions: CreatePolicyVersion, SetDefaultPolicyVersion, ListPolicyVersions; at most five', async () => {
    const client = ram(server);
    await client.call('CreatePolicy', { PolicyName: 'versioned', PolicyDocument: ALLOW_DESCRIBE });
    const created = await client.call('CreatePolicyVersion', {
      PolicyName: 'versioned',
      PolicyDocument: ALLOW_ALL,
      SetAsDefault: true,
    });
    assert.deepEqual(keys(created), ['PolicyVersion', 'RequestId']);
    const v2 = created.PolicyVersion as Record<string, unknown>;
    assert.deepEqual(
      { ...v2, CreateDate: '' },
      { VersionId: 'v2', IsDefaultVersion: true, PolicyDocument: ALLOW_ALL, CreateDate: '' },
    );
    assert.ok(recent(v2.CreateDate));
    const policy = (await client.call('GetPolicy', { PolicyType: 'Custom', PolicyName: 'versioned' }))
      .Policy as { DefaultVersion: string };
    assert.equal(policy.DefaultVersion, 'v2');

    assert.deepEqual(
      keys(await client.call('SetDefaultPolicyVersion', { PolicyName: 'versioned', VersionId: 'v1' })),
      ['RequestId'],
    );
    const listed = await client.call('ListPolicyVersions', { PolicyType: 'Custom', PolicyName: 'versioned' });
    assert.deepEqual(keys(listed), ['PolicyVersions', 'RequestId']);
    const versions = (listed.PolicyVersions as { PolicyVersion: Record<string, unknown>[] }).PolicyVersion;
    assert.deepEqual(
      versions.map((v) => [v.VersionId, v.IsDefaultVersion, v.PolicyDocument]),
      [
        ['v1', true, ALLOW_DESCRIBE],
        ['v2', false, ALLOW_ALL],
      ],
    );
    const got = await client.call('GetPolicy', { PolicyType: 'Custom', PolicyName: 'versioned' });
    assert.equal((got.DefaultPolicyVersion as { VersionId: string }).VersionId, 'v1');

    for (const n of [3, 4, 5]) {
      const v = await client.call('CreatePolicyVersion', {
        PolicyName: 'versioned',
        PolicyDocument: ALLOW_ALL,
      });
      assert.equal((v.PolicyVersion as { VersionId: string; IsDefaultVersion: boolean }).VersionId, `v${n}`);
    }
    await expectError(
      server,
      'CreatePolicyVersion',
      { PolicyName: 'versioned', PolicyDocument: ALLOW_ALL },
      'LimitExceeded.Policy.Version',
      409,
    );
    // RotateStrategy makes room by dropping the oldest version that is not the default (v2).
    const rotated = await client.call('CreatePolicyVersion', {
      PolicyName: 'versioned',
      PolicyDocument: ALLOW_ALL,
      RotateStrategy: 'DeleteOldestNonDefaultVersionWhenLimitExceeded',
    });
    assert.equal((rotated.PolicyVersion as { VersionId: string }).VersionId, 'v6');
    const after = (await client.call('ListPolicyVersions', { PolicyType: 'Custom', PolicyName: 'versioned' }))
      .PolicyVersions as {
      PolicyVersion: { VersionId: string }[];
    };
    assert.deepEqual(
      after.PolicyVersion.map((v) => v.VersionId),
      ['v1', 'v3', 'v4', 'v5', 'v6'],
    );

    await expectError(
      server,
      'SetDefaultPolicyVersion',
      { PolicyName: 'versioned', VersionId: 'v2' },
      'EntityNotExist.Policy.Version',
      404,
    );
    await expectError(
      server,
      'SetDefaultPolicyVersion',
      { PolicyName: 'versioned', VersionId: '2' },
      'InvalidParameter.VersionId.Format',
      400,
    );
    await expectError(
      server,
      'SetDefaultPolicyVersion',
      { PolicyName: 'nothing', VersionId: 'v1' },
      'EntityNotExist.Policy',
      404,
    );
    await expectError(
      server,
      'CreatePolicyVersion',
      { PolicyName: 'nothing', PolicyDocument: ALLOW_ALL },
      'EntityNotExist.Policy',
      404,
    );
    await expectError(
      server,
      'CreatePolicyVersion',
      { PolicyName: 'versioned', PolicyDocument: '{"Version":"2"}' },
      'MalformedPolicyDocument',
      400,
    );
    const system = await client.call('ListPolicyVersions', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSFullAccess',
    });
    assert.deepEqual(
      (
        system.PolicyVersions as { PolicyVersion: { VersionId: string; IsDefaultVersion: boolean }[] }
      ).PolicyVersion.map((v) => [v.VersionId, v.IsDefaultVersion]),
      [['v1', true]],
    );
  });

  it('refuses bad policy names, types and documents with RAM codes', async () => {
    const cases: [string, Params, string, number][] = [
      [
        'CreatePolicy',
        { PolicyName: 'a_b', PolicyDocument: ALLOW_ALL },
        'InvalidParameter.PolicyName.InvalidChars',
        400,
      ],
      [
        'CreatePolicy',
        { PolicyName: 'p'.repeat(129), PolicyDocument: ALLOW_ALL },
        'InvalidParameter.PolicyName.Length',
        400,
      ],
      [
        'CreatePolicy',
        { PolicyName: 'long-doc', PolicyDocument: 'x'.repeat(6145) },
        'InvalidParameter.PolicyDocument.Length',
        400,
      ],
      [
        'CreatePolicy',
        { PolicyName: 'long-desc', PolicyDocument: ALLOW_ALL, Description: 'd'.repeat(1025) },
        'InvalidParameter.Description.Length',
        400,
      ],
      [
        'CreatePolicy',
        { PolicyName: 'not-json', PolicyDocument: '{"Version":' },
        'MalformedPolicyDocument',
        400,
      ],
      [
        'CreatePolicy',
        { PolicyName: 'no-statement', PolicyDocument: '{"Version":"1"}' },
        'MalformedPolicyDocument',
        400,
      ],
      ['CreatePolicy', { PolicyName: 'no-document' }, 'MissingParameter', 400],
      ['GetPolicy', { PolicyType: 'Managed', PolicyName: 'x' }, 'InvalidParameter.PolicyType', 400],
      ['GetPolicy', { PolicyType: 'Custom', PolicyName: 'nothing' }, 'EntityNotExist.Policy', 404],
      ['ListPolicyVersions', { PolicyType: 'Custom', PolicyName: 'nothing' }, 'EntityNotExist.Policy', 404],
      ['DeletePolicy', { PolicyName: 'nothing' }, 'EntityNotExist.Policy', 404],
      [
        'ListEntitiesForPolicy',
        { PolicyType: 'Custom', PolicyName: 'nothing' },
        'EntityNotExist.Policy',
        404,
      ],
    ];
    for (const [action, params, code, status] of cases)
      await expectError(server, action, params, code, status);
    await ram(server).call('CreatePolicy', { PolicyName: 'twice', PolicyDocument: ALLOW_ALL });
    await expectError(
      server,
      'CreatePolicy',
      { PolicyName: 'twice', PolicyDocument: ALLOW_ALL },
      'EntityAlreadyExists.Policy',
      409,
    );
  });

  it('attachments: ListPoliciesForUser, ListEntitiesForPolicy; attach twice, detach what is not attached', async () => {
    const client = ram(server);
    await client.call('CreatePolicy', {
      PolicyName: 'attached',
      PolicyDocument: ALLOW_ALL,
      Description: 'all of ENS',
    });
    assert.deepEqual(
      keys(
        await client.call('AttachPolicyToUser', {
          PolicyType: 'Custom',
          PolicyName: 'attached',
          UserName: 'erin',
        }),
      ),
      ['RequestId'],
    );
    await client.call('AttachPolicyToUser', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSFullAccess',
      UserName: 'erin',
    });
    assert.deepEqual(
      keys(
        await client.call('AttachPolicyToGroup', {
          PolicyType: 'Custom',
          PolicyName: 'attached',
          GroupName: 'ops',
        }),
      ),
      ['RequestId'],
    );

    const forUser = await client.call('ListPoliciesForUser', { UserName: 'erin' });
    assert.deepEqual(keys(forUser), ['Policies', 'RequestId']);
    const policies = (forUser.Policies as { Policy: Record<string, unknown>[] }).Policy;
    assert.deepEqual(
      policies.map((p) => ({ ...p, AttachDate: recent(p.AttachDate) })),
      [
        {
          PolicyName: 'attached',
          PolicyType: 'Custom',
          Description: 'all of ENS',
          DefaultVersion: 'v1',
          AttachDate: true,
        },
        {
          PolicyName: 'AliyunENSFullAccess',
          PolicyType: 'System',
          Description: builtIn('AliyunENSFullAccess').description,
          DefaultVersion: 'v1',
          AttachDate: true,
        },
      ],
    );

    const entities = await client.call('ListEntitiesForPolicy', {
      PolicyType: 'Custom',
      PolicyName: 'attached',
    });
    assert.deepEqual(keys(entities), ['Groups', 'RequestId', 'Roles', 'Users']);
    const erin = (await client.call('GetUser', { UserName: 'erin' })).User as { UserId: string };
    assert.deepEqual(
      (entities.Users as { User: Record<string, unknown>[] }).User.map((u) => ({
        ...u,
        AttachDate: recent(u.AttachDate),
      })),
      [{ UserId: erin.UserId, UserName: 'erin', DisplayName: '', AttachDate: true }],
    );
    assert.deepEqual(
      (entities.Groups as { Group: Record<string, unknown>[] }).Group.map((g) => ({
        ...g,
        AttachDate: recent(g.AttachDate),
      })),
      [{ GroupName: 'ops', Comments: '', AttachDate: true }],
    );
    assert.deepEqual(entities.Roles, { Role: [] });
    const count = (await client.call('GetPolicy', { PolicyType: 'Custom', PolicyName: 'attached' }))
      .Policy as { AttachmentCount: number };
    assert.equal(count.AttachmentCount, 2);

    const toErin = { PolicyType: 'Custom', PolicyName: 'attached', UserName: 'erin' };
    const toOps = { PolicyType: 'Custom', PolicyName: 'attached', GroupName: 'ops' };
    await expectError(server, 'AttachPolicyToUser', toErin, 'EntityAlreadyExists.User.Policy', 409);
    await expectError(server, 'AttachPolicyToGroup', toOps, 'EntityAlreadyExists.Group.Policy', 409);
    await expectError(
      server,
      'AttachPolicyToUser',
      { ...toErin, UserName: 'nobody' },
      'EntityNotExist.User',
      404,
    );
    await expectError(
      server,
      'AttachPolicyToGroup',
      { ...toOps, GroupName: 'nobody' },
      'EntityNotExist.Group',
      404,
    );
    await expectError(
      server,
      'AttachPolicyToUser',
      { ...toErin, PolicyName: 'nothing' },
      'EntityNotExist.Policy',
      404,
    );
    await expectError(
      server,
      'AttachPolicyToUser',
      { ...toErin, PolicyType: 'System', PolicyName: 'AliyunECSFullAccess' },
      'EntityNotExist.Policy',
      404,
    );
    await expectError(server, 'ListPoliciesForUser', { UserName: 'nobody' }, 'EntityNotExist.User', 404);

    assert.deepEqual(keys(await client.call('DetachPolicyFromUser', toErin)), ['RequestId']);
    assert.deepEqual(keys(await client.call('DetachPolicyFromGroup', toOps)), ['RequestId']);
    await expectError(server, 'DetachPolicyFromUser', toErin, 'EntityNotExist.User.Policy', 404);
    await expectError(server, 'DetachPolicyFromGroup', toOps, 'EntityNotExist.Group.Policy', 404);
    await expectError(
      server,
      'DetachPolicyFromUser',
      { ...toErin, PolicyName: 'nothing' },
      'EntityNotExist.Policy',
      404,
    );
    await client.call('DetachPolicyFromUser', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSFullAccess',
      UserName: 'erin',
    });
    const none = await client.call('ListPoliciesForUser', { UserName: 'erin' });
    assert.deepEqual(none.Policies, { Policy: [] });
  });

  it('a user or group takes at most 20 policies of each type', async () => {
    const client = ram(server);
    await client.call('CreateUser', { UserName: 'collector' });
    for (let i = 1; i <= 21; i++)
      await client.call('CreatePolicy', { PolicyName: `many-${i}`, PolicyDocument: ALLOW_ALL });
    for (let i = 1; i <= 20; i++) {
      await client.call('AttachPolicyToUser', {
        PolicyType: 'Custom',
        PolicyName: `many-${i}`,
        UserName: 'collector',
      });
      await client.call('AttachPolicyToGroup', {
        PolicyType: 'Custom',
        PolicyName: `many-${i}`,
        GroupName: 'ops',
      });
    }
    await expectError(
      server,
      'AttachPolicyToUser',
      { PolicyType: 'Custom', PolicyName: 'many-21', UserName: 'collector' },
      'LimitExceeded.User.Policy',
      409,
    );
    await expectError(
      server,
      'AttachPolicyToGroup',
      { PolicyType: 'Custom', PolicyName: 'many-21', GroupName: 'ops' },
      'LimitExceeded.Group.Policy',
      409,
    );
    // The System ones are counted apart.
    await client.call('AttachPolicyToUser', {
      PolicyType: 'System',
      PolicyName: 'AliyunENSFullAccess',
      UserName: 'collector',
    });
    for (let i = 1; i <= 20; i++)
      await client.call('DeletePolicy', { PolicyName: `many-${i}`, CascadingDelete: true });
  });

  it('DeletePolicy refuses while attached, unless CascadingDelete', async () => {
    const client = ram(server);
    await client.call('CreatePolicy', { PolicyName: 'doomed', PolicyDocument: ALLOW_ALL });
    await client.call('CreatePolicyVersion', { PolicyName: 'doomed', PolicyDocument: ALLOW_DESCRIBE });
    await client.call('AttachPolicyToUser', { PolicyType: 'Custom', PolicyName: 'doomed', UserName: 'erin' });
    await expectError(server, 'DeletePolicy', { PolicyName: 'doomed' }, 'DeleteConflict.Policy.User', 409);
    await client.call('DetachPolicyFromUser', {
      PolicyType: 'Custom',
      PolicyName: 'doomed',
      UserName: 'erin',
    });
    await client.call('AttachPolicyToGroup', {
      PolicyType: 'Custom',
      PolicyName: 'doomed',
      GroupName: 'ops',
    });
    await expectError(server, 'DeletePolicy', { PolicyName: 'doomed' }, 'DeleteConflict.Policy.Group', 409);
    await client.call('AttachPolicyToUser', { PolicyType: 'Custom', PolicyName: 'doomed', UserName: 'erin' });

    assert.deepEqual(
      keys(await client.call('DeletePolicy', { PolicyName: 'doomed', CascadingDelete: true })),
      ['RequestId'],
    );
    await expectError(
      server,
      'GetPolicy',
      { PolicyType: 'Custom', PolicyName: 'doomed' },
      'EntityNotExist.Policy',
      404,
    );
    assert.deepEqual((await client.call('ListPoliciesForUser', { UserName: 'erin' })).Policies, {
      Policy: [],
    });
    // A new policy of the same name starts over at v1, unattached.
    await client.call('CreatePolicy', { PolicyName: 'doomed', PolicyDocument: ALLOW_ALL });
    const versions = (await client.call('ListPolicyVersions', { PolicyType: 'Custom', PolicyName: 'doomed' }))
      .PolicyVersions as {
      PolicyVersion: { VersionId: string }[];
    };
    assert.deepEqual(
      versions.PolicyVersion.map((v) => v.VersionId),
      ['v1'],
    );
    await client.call('DeletePolicy', { PolicyName: 'doomed' });
  });
});

describe('RAM groups', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
    await ram(server).call('CreateUser', { UserName: 'frank' });
  });
  after(() => server.stop());

  it('CreateGroup, ListGroups, AddUserToGroup, ListGroupsForUser, RemoveUserFromGroup, DeleteGroup', async () => {
    for (const [i, client] of ramModes(server).entries()) {
      const name = `team-${i}`;
      const created = await client.call('CreateGroup', { GroupName: name, Comments: 'Dev-Team' });
      assert.deepEqual(keys(created), ['Group', 'RequestId']);
      const group = created.Group as Record<string, string>;
      assert.deepEqual(keys(group), ['Comments', 'CreateDate', 'GroupId', 'GroupName']);
      assert.match(group.GroupId as string, GROUP_ID);
      assert.equal(group.GroupName, name);
      assert.equal(group.Comments, 'Dev-Team');
      assert.ok(recent(group.CreateDate));

      const listed = await client.call('ListGroups');
      assert.deepEqual(keys(listed), ['Groups', 'IsTruncated', 'RequestId']);
      assert.deepEqual(
        (listed.Groups as { Group: Record<string, string>[] }).Group.find((g) => g.GroupName === name),
        { ...group, UpdateDate: group.CreateDate },
      );

      assert.deepEqual(keys(await client.call('AddUserToGroup', { UserName: 'frank', GroupName: name })), [
        'RequestId',
      ]);
      const joined = await client.call('ListGroupsForUser', { UserName: 'frank' });
      assert.deepEqual(keys(joined), ['Groups', 'RequestId']);
      const membership = (joined.Groups as { Group: Record<string, string>[] }).Group.find(
        (g) => g.GroupName === name,
      );
      assert.deepEqual(membership && { ...membership, JoinDate: recent(membership.JoinDate) }, {
        GroupId: group.GroupId,
        GroupName: name,
        Comments: 'Dev-Team',
        JoinDate: true,
      });

      await expectError(server, 'DeleteGroup', { GroupName: name }, 'DeleteConflict.Group.User', 409);
      assert.deepEqual(
        keys(await client.call('RemoveUserFromGroup', { UserName: 'frank', GroupName: name })),
        ['RequestId'],
      );
      await client.call('AttachPolicyToGroup', {
        PolicyType: 'System',
        PolicyName: 'AliyunENSFullAccess',
        GroupName: name,
      });
      await expectError(server, 'DeleteGroup', { GroupName: name }, 'DeleteConflict.Group.Policy', 409);
      await client.call('DetachPolicyFromGroup', {
        PolicyType: 'System',
        PolicyName: 'AliyunENSFullAccess',
        GroupName: name,
      });
      assert.deepEqual(keys(await client.call('DeleteGroup', { GroupName: name })), ['RequestId']);
      await expectError(server, 'DeleteGroup', { GroupName: name }, 'EntityNotExist.Group', 404);
    }
  });

  it('refuses bad group names, duplicates, double joins, and a sixth group', async () => {
    const client = ram(server);
    await expectError(
      server,
      'CreateGroup',
      { GroupName: 'bad name' },
      'InvalidParameter.GroupName.InvalidChars',
      400,
    );
    await expectError(
      server,
      'CreateGroup',
      { GroupName: 'g'.repeat(65) },
      'InvalidParameter.GroupName.Length',
      400,
    );
    await expectError(
      server,
      'CreateGroup',
      { GroupName: 'ok', Comments: 'c'.repeat(129) },
      'InvalidParameter.Comments.Length',
      400,
    );
    await client.call('CreateGroup', { GroupName: 'once' });
    await expectError(server, 'CreateGroup', { GroupName: 'once' }, 'EntityAlreadyExists.Group', 409);

    await client.call('AddUserToGroup', { UserName: 'frank', GroupName: 'once' });
    await expectError(
      server,
      'AddUserToGroup',
      { UserName: 'frank', GroupName: 'once' },
      'EntityAlreadyExists.User.Group',
      409,
    );
    await expectError(
      server,
      'AddUserToGroup',
      { UserName: 'nobody', GroupName: 'once' },
      'EntityNotExist.User',
      404,
    );
    await expectError(
      server,
      'AddUserToGroup',
      { UserName: 'frank', GroupName: 'nothing' },
      'EntityNotExist.Group',
      404,
    );
    await expectError(server, 'ListGroupsForUser', { UserName: 'nobody' }, 'EntityNotExist.User', 404);
    await client.call('RemoveUserFromGroup', { UserName: 'frank', GroupName: 'once' });
    await expectError(
      server,
      'RemoveUserFromGroup',
      { UserName: 'frank', GroupName: 'once' },
      'EntityNotExist.User.Group',
      404,
    );

    for (let i = 1; i <= 6; i++) await client.call('CreateGroup', { GroupName: `five-${i}` });
    for (let i = 1; i <= 5; i++)
      await client.call('AddUserToGroup', { UserName: 'frank', GroupName: `five-${i}` });
    await expectError(
      server,
      'AddUserToGroup',
      { UserName: 'frank', GroupName: 'five-6' },
      'LimitExceeded.User.Group',
      409,
    );
  });
});

describe('RAM over XML', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
    await ram(server).call('CreateUser', { UserName: 'xml-user', Comments: 'a & b' });
  });
  after(() => server.stop());

  it('Format=XML: lists repeat their element inside the wrapper, RequestId first', async () => {
    const r = await send(signV1(server, { Action: 'ListUsers', Version: RAM, Format: 'XML' }));
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/xml;charset=utf-8');
    assert.match(
      r.text,
      /^<\?xml version="1\.0" encoding="UTF-8"\?><ListUsersResponse><RequestId>[0-9A-F-]{36}<\/RequestId><IsTruncated>false<\/IsTruncated><Users><User><UserId>[0-9]{16}<\/UserId><UserName>xml-user<\/UserName><DisplayName><\/DisplayName><MobilePhone><\/MobilePhone><Email><\/Email><Comments>a &amp; b<\/Comments><CreateDate>[0-9TZ:-]{20}<\/CreateDate><UpdateDate>[0-9TZ:-]{20}<\/UpdateDate><\/User><\/Users><\/ListUsersResponse>$/,
    );
    const missing = await send(
      signV1(server, { Action: 'GetUser', Version: RAM, Format: 'XML', UserName: 'nobody' }),
    );
    assert.equal(missing.status, 404);
    assert.match(
      missing.text,
      /<Code>EntityNotExist\.User<\/Code><Message>The user does not exist\.<\/Message>/,
    );
  });
});

describe('AccessKeySecrets at rest', () => {
  const server = new Restartable();
  after(() => server.stop());

  /** Every byte of the database and its WAL, as a copy of them would hold. */
  const databaseBytes = (dataDir: string): Buffer =>
    Buffer.concat(
      ['ensnap.db', 'ensnap.db-wal'].map((file) => {
        try {
          return readFileSync(path.join(dataDir, file));
        } catch {
          return Buffer.alloc(0);
        }
      }),
    );

  it('no secret is in the database files in plain text, before or after a restart; secret.key is private', async () => {
    const running = await server.start();
    const client = ram(running);
    await client.call('CreateUser', { UserName: 'holder' });
    const key = await createKey(client, 'holder');
    await popCore(withKey(running, key)).call('DescribeEnsRegions');
    for (const secret of [key.AccessKeySecret, TEST_KEY.secret]) {
      assert.equal(databaseBytes(running.dataDir).indexOf(secret), -1, 'a secret in plain text');
    }
    const keyFile = path.join(running.dataDir, 'secret.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);

    const again = await server.start();
    await popCore(withKey(again, key)).call('DescribeEnsRegions');
    for (const secret of [key.AccessKeySecret, TEST_KEY.secret]) {
      assert.equal(databaseBytes(again.dataDir).indexOf(secret), -1, 'a secret in plain text after restart');
    }
  });

  it("ENSNAP_SECRET_KEY: the operator's key is used; another key refuses to start; the right one opens the keys", async () => {
    const other = new Restartable();
    try {
      const operatorKey = Buffer.alloc(32, 7);
      const first = await other.start({ ENSNAP_SECRET_KEY: operatorKey.toString('hex') });
      await ram(first).call('CreateUser', { UserName: 'holder' });
      const key = await createKey(ram(first), 'holder');
      await assert.rejects(
        other.start({ ENSNAP_SECRET_KEY: Buffer.alloc(32, 8).toString('base64') }),
        /the secret key does not open the access keys stored in the database/,
      );
      const again = await other.start({ ENSNAP_SECRET_KEY: operatorKey.toString('base64') });
      await popCore(withKey(again, key)).call('DescribeEnsRegions');
    } finally {
      await other.stop();
    }
  });
});
