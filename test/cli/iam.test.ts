// `ensnap iam …` as child processes. The RAM API (2015-05-01) is not served by this build yet, so
// each command runs against a small stand-in that records the request (signed V3 with the key of
// the environment, Action, Version, every parameter) and answers as RAM does; the real server
// shows how an error of the server is printed. Usage mistakes send nothing and exit 2.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensnap, type Run } from '../helpers/cli.js';
import { cliEnv, type Running, startEnsnap } from '../helpers/ensnap.js';

const RAM_VERSION = '2015-05-01';
const KEY = { id: 'LTAIiamTestRootKey01', secret: 'iamTestRootSecret' };

interface Recorded {
  action: string;
  version: string;
  credential: string;
  params: Record<string, string>;
}

/** Answers by action (a function of the parameters for paged lists), RAM's shapes. */
const ANSWERS: Record<string, (params: Record<string, string>) => Record<string, unknown>> = {
  CreateUser: (p) => ({
    User: {
      UserId: '200000000000001',
      UserName: p.UserName,
      DisplayName: p.DisplayName,
      CreateDate: '2026-11-29T10:00:00Z',
    },
  }),
  GetUser: (p) => ({
    User: { UserId: '200000000000001', UserName: p.UserName, CreateDate: '2026-11-29T10:00:00Z' },
  }),
  // Two pages: the second is asked for with the Marker of the first.
  ListUsers: (p) =>
    p.Marker === undefined
      ? {
          IsTruncated: true,
          Marker: 'page-2',
          Users: { User: [{ UserName: 'alice', DisplayName: 'Alice', CreateDate: 'T1' }] },
        }
      : { IsTruncated: false, Users: { User: [{ UserName: 'bob', DisplayName: 'Bob', CreateDate: 'T2' }] } },
  DeleteUser: () => ({}),
  CreateAccessKey: () => ({
    AccessKey: {
      AccessKeyId: 'LTAIuserKey',
      AccessKeySecret: 'userSecret',
      Status: 'Active',
      CreateDate: 'T3',
    },
  }),
  ListAccessKeys: () => ({
    AccessKeys: {
      AccessKey: [
        { AccessKeyId: 'LTAIuserKey', Status: 'Active', CreateDate: 'T3' },
        { AccessKeyId: 'LTAIolderKey', Status: 'Inactive', CreateDate: 'T0' },
      ],
    },
  }),
  UpdateAccessKey: () => ({}),
  DeleteAccessKey: () => ({}),
  CreatePolicy: (p) => ({
    Policy: {
      PolicyName: p.PolicyName,
      PolicyType: 'Custom',
      Description: p.Description,
      DefaultVersion: 'v1',
      CreateDate: 'T4',
    },
  }),
  ListPolicies: () => ({
    IsTruncated: false,
    Policies: {
      Policy: [
        {
          PolicyName: 'AliyunENSReadOnlyAccess',
          PolicyType: 'System',
          DefaultVersion: 'v1',
          Description: 'read only',
        },
      ],
    },
  }),
  GetPolicy: (p) => ({
    Policy: { PolicyName: p.PolicyName, PolicyType: p.PolicyType, DefaultVersion: 'v1', CreateDate: 'T4' },
    DefaultPolicyVersion: {
      VersionId: 'v1',
      IsDefaultVersion: true,
      PolicyDocument:
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ens:Describe*","Resource":"*"}]}',
    },
  }),
  DeletePolicy: () => ({}),
  AttachPolicyToUser: () => ({}),
  DetachPolicyFromUser: () => ({}),
  AttachPolicyToGroup: () => ({}),
  DetachPolicyFromGroup: () => ({}),
  CreateGroup: (p) => ({ Group: { GroupName: p.GroupName, Comments: p.Comments, CreateDate: 'T5' } }),
  AddUserToGroup: () => ({}),
  RemoveUserFromGroup: () => ({}),
};

describe('ensnap iam', () => {
  let ram: Server;
  let recorded: Recorded[] = [];
  let env: Record<string, string>;
  let dir: string;
  let documentFile: string;
  const document =
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":["ens:Describe*"],"Resource":"*"}]}\n';
  const run = (...args: string[]): Promise<Run> => ensnap(args, env).done;

  before(async () => {
    ram = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const query = new URL(req.url ?? '/', 'http://ram').searchParams;
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const params = Object.fromEntries([...query, ...form]);
        const action = String(req.headers['x-acs-action']);
        recorded.push({
          action,
          version: String(req.headers['x-acs-version']),
          credential: /Credential=([^,]+)/.exec(String(req.headers.authorization))?.[1] ?? '',
          params,
        });
        const answer = ANSWERS[action];
        if (action === 'DeleteUser' && params.UserName === 'ghost') {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              RequestId: 'R',
              HostId: 'h',
              Code: 'EntityNotExist.User',
              Message: 'The user does not exist.',
            }),
          );
          return;
        }
        res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            answer
              ? { RequestId: 'R', ...answer(params) }
              : { Code: 'InvalidAction.NotFound', Message: action },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => ram.listen(0, '127.0.0.1', resolve));
    env = {
      ENSNAP_ENDPOINT: `http://127.0.0.1:${(ram.address() as AddressInfo).port}`,
      ENSNAP_ACCESS_KEY_ID: KEY.id,
      ENSNAP_ACCESS_KEY_SECRET: KEY.secret,
    };
    dir = await mkdtemp(path.join(tmpdir(), 'ensnap-iam-'));
    documentFile = path.join(dir, 'policy.json');
    await writeFile(documentFile, document);
  });
  after(async () => {
    await new Promise((resolve) => ram.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the command; it must succeed having sent exactly `requests` ([Action, parameters]). */
  async function sends(args: string[], requests: [string, Record<string, string>][]): Promise<Run> {
    recorded = [];
    const r = await run(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.deepEqual(
      recorded.map((q) => [q.action, q.params]),
      requests,
      args.join(' '),
    );
    for (const q of recorded) {
      assert.equal(q.version, RAM_VERSION);
      assert.equal(q.credential, KEY.id);
    }
    return r;
  }

  it('user: create, list (every page), get, delete', async () => {
    const created = await sends(
      ['iam', 'user', 'create', 'alice', '--display-name', 'Alice A', '--comments', 'ops'],
      [['CreateUser', { UserName: 'alice', DisplayName: 'Alice A', Comments: 'ops' }]],
    );
    assert.match(created.stdout, /^UserId\s+200000000000001\nUserName\s+alice\nDisplayName\s+Alice A\n/);
    await sends(['iam', 'user', 'create', 'carol'], [['CreateUser', { UserName: 'carol' }]]);

    const listed = await sends(
      ['iam', 'user', 'list'],
      [
        ['ListUsers', { MaxItems: '100' }],
        ['ListUsers', { Marker: 'page-2', MaxItems: '100' }],
      ],
    );
    assert.match(
      listed.stdout,
      /^USER NAME\s+DISPLAY NAME\s+CREATED\s+COMMENTS\nalice\s+Alice\s+T1\nbob\s+Bob\s+T2\n$/,
    );
    const json = await sends(
      ['iam', 'user', 'list', '--json'],
      [
        ['ListUsers', { MaxItems: '100' }],
        ['ListUsers', { Marker: 'page-2', MaxItems: '100' }],
      ],
    );
    assert.deepEqual(
      (JSON.parse(json.stdout) as { UserName: string }[]).map((u) => u.UserName),
      ['alice', 'bob'],
    );

    const got = await sends(['iam', 'user', 'get', 'alice', '--json'], [['GetUser', { UserName: 'alice' }]]);
    assert.deepEqual(JSON.parse(got.stdout), {
      User: { UserId: '200000000000001', UserName: 'alice', CreateDate: '2026-11-29T10:00:00Z' },
    });
    const deleted = await sends(['iam', 'user', 'delete', 'alice'], [['DeleteUser', { UserName: 'alice' }]]);
    assert.equal(deleted.stdout, 'deleted user alice\n');
  });

  it('key: create, list, disable, enable, delete, each for --user', async () => {
    const created = await sends(
      ['iam', 'key', 'create', '--user', 'alice'],
      [['CreateAccessKey', { UserName: 'alice' }]],
    );
    assert.match(created.stdout, /^AccessKeyId\s+LTAIuserKey\nAccessKeySecret\s+userSecret\n/);
    assert.match(created.stdout, /shown only now/);
    const listed = await sends(
      ['iam', 'key', 'list', '--user', 'alice'],
      [['ListAccessKeys', { UserName: 'alice' }]],
    );
    assert.match(
      listed.stdout,
      /^ACCESS KEY ID\s+STATUS\s+CREATED\nLTAIuserKey\s+Active\s+T3\nLTAIolderKey\s+Inactive\s+T0\n$/,
    );
    const disabled = await sends(
      ['iam', 'key', 'disable', 'LTAIuserKey', '--user', 'alice'],
      [['UpdateAccessKey', { UserAccessKeyId: 'LTAIuserKey', Status: 'Inactive', UserName: 'alice' }]],
    );
    assert.equal(disabled.stdout, 'AccessKey LTAIuserKey of user alice is now Inactive\n');
    await sends(
      ['iam', 'key', 'enable', 'LTAIuserKey', '--user', 'alice'],
      [['UpdateAccessKey', { UserAccessKeyId: 'LTAIuserKey', Status: 'Active', UserName: 'alice' }]],
    );
    const deleted = await sends(
      ['iam', 'key', 'delete', 'LTAIuserKey', '--user', 'alice', '--json'],
      [['DeleteAccessKey', { UserAccessKeyId: 'LTAIuserKey', UserName: 'alice' }]],
    );
    assert.deepEqual(JSON.parse(deleted.stdout), {});
  });

  it('policy: create from a file, list, get (with its document), delete, attach and detach', async () => {
    const created = await sends(
      ['iam', 'policy', 'create', 'ReadOnly', '--document', documentFile, '--description', 'look only'],
      [['CreatePolicy', { PolicyName: 'ReadOnly', PolicyDocument: document, Description: 'look only' }]],
    );
    assert.match(created.stdout, /^PolicyName\s+ReadOnly\nPolicyType\s+Custom\n/);
    await sends(['iam', 'policy', 'list'], [['ListPolicies', { MaxItems: '100' }]]);
    const system = await sends(
      ['iam', 'policy', 'list', '--system'],
      [['ListPolicies', { PolicyType: 'System', MaxItems: '100' }]],
    );
    assert.match(
      system.stdout,
      /^POLICY NAME\s+TYPE\s+VERSION\s+DESCRIPTION\nAliyunENSReadOnlyAccess\s+System\s+v1\s+read only\n$/,
    );
    await sends(
      ['iam', 'policy', 'list', '--custom'],
      [['ListPolicies', { PolicyType: 'Custom', MaxItems: '100' }]],
    );

    const got = await sends(
      ['iam', 'policy', 'get', 'AliyunENSReadOnlyAccess', '--system'],
      [['GetPolicy', { PolicyName: 'AliyunENSReadOnlyAccess', PolicyType: 'System' }]],
    );
    assert.match(got.stdout, /^PolicyName\s+AliyunENSReadOnlyAccess\nPolicyType\s+System\n/);
    assert.ok(got.stdout.includes('\n{\n  "Version": "1",\n  "Statement": [\n'), got.stdout);
    await sends(
      ['iam', 'policy', 'get', 'ReadOnly'],
      [['GetPolicy', { PolicyName: 'ReadOnly', PolicyType: 'Custom' }]],
    );
    await sends(['iam', 'policy', 'delete', 'ReadOnly'], [['DeletePolicy', { PolicyName: 'ReadOnly' }]]);

    const attached = await sends(
      ['iam', 'policy', 'attach', 'ReadOnly', '--user', 'alice'],
      [['AttachPolicyToUser', { PolicyType: 'Custom', PolicyName: 'ReadOnly', UserName: 'alice' }]],
    );
    assert.equal(attached.stdout, 'attached ReadOnly to user alice\n');
    await sends(
      ['iam', 'policy', 'attach', 'AliyunENSFullAccess', '--group', 'ops', '--system'],
      [
        [
          'AttachPolicyToGroup',
          { PolicyType: 'System', PolicyName: 'AliyunENSFullAccess', GroupName: 'ops' },
        ],
      ],
    );
    const detached = await sends(
      ['iam', 'policy', 'detach', 'ReadOnly', '--user', 'alice'],
      [['DetachPolicyFromUser', { PolicyType: 'Custom', PolicyName: 'ReadOnly', UserName: 'alice' }]],
    );
    assert.equal(detached.stdout, 'detached ReadOnly from user alice\n');
    await sends(
      ['iam', 'policy', 'detach', 'AliyunENSFullAccess', '--group', 'ops', '--system'],
      [
        [
          'DetachPolicyFromGroup',
          { PolicyType: 'System', PolicyName: 'AliyunENSFullAccess', GroupName: 'ops' },
        ],
      ],
    );
  });

  it('group: create, add-user, remove-user', async () => {
    const created = await sends(
      ['iam', 'group', 'create', 'ops', '--comments', 'on call'],
      [['CreateGroup', { GroupName: 'ops', Comments: 'on call' }]],
    );
    assert.match(created.stdout, /^GroupName\s+ops\nComments\s+on call\n/);
    const added = await sends(
      ['iam', 'group', 'add-user', 'ops', '--user', 'alice'],
      [['AddUserToGroup', { GroupName: 'ops', UserName: 'alice' }]],
    );
    assert.equal(added.stdout, 'added user alice to group ops\n');
    const removed = await sends(
      ['iam', 'group', 'remove-user', 'ops', '--user', 'alice'],
      [['RemoveUserFromGroup', { GroupName: 'ops', UserName: 'alice' }]],
    );
    assert.equal(removed.stdout, 'removed user alice from group ops\n');
  });

  it("the server's refusal is printed as ensnap: <Code>: <message>, exit 1", async () => {
    recorded = [];
    const r = await run('iam', 'user', 'delete', 'ghost');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'ensnap: EntityNotExist.User: The user does not exist.\n');
    assert.equal(r.stdout, '');

    // The real server: a user created, listed, and its deletion refused once it has a key.
    const server: Running = await startEnsnap();
    try {
      const env = cliEnv(server);
      assert.equal((await ensnap(['iam', 'user', 'create', 'carol'], env).done).code, 0);
      const listed = await ensnap(['iam', 'user', 'list', '--json'], env).done;
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /"UserName": "carol"/);
      assert.equal((await ensnap(['iam', 'key', 'create', '--user', 'carol'], env).done).code, 0);
      const refused = await ensnap(['iam', 'user', 'delete', 'carol'], env).done;
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^ensnap: DeleteConflict\.User\.AccessKey: /);
    } finally {
      await server.stop();
    }
  });

  it('usage: --help documents every command; mistakes send nothing and exit 2 with one line', async () => {
    for (const args of [
      ['iam', '--help'],
      ['iam', 'user', '--help'],
      ['iam', 'policy', 'attach', '--help'],
      ['iam', 'key', 'list', '-h'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^usage: ensnap iam user create/);
      for (const command of [
        'key disable',
        'policy attach',
        'group remove-user',
        '--json',
        'ENSNAP_ENDPOINT',
      ])
        assert.ok(r.stdout.includes(command), command);
    }
    const bare = await run('iam');
    assert.equal(bare.code, 2);
    recorded = [];
    for (const args of [
      ['iam', 'frobnicate'],
      ['iam', 'user', 'rename', 'a'],
      ['iam', 'user', 'create'],
      ['iam', 'user', 'create', 'a', 'b'],
      ['iam', 'user', 'create', 'a', '--bogus'],
      ['iam', 'key', 'create'],
      ['iam', 'key', 'list', '--user'],
      ['iam', 'key', 'disable', '--user', 'alice'],
      ['iam', 'policy', 'create', 'P'],
      ['iam', 'policy', 'create', 'P', '--document', path.join(dir, 'missing.json')],
      ['iam', 'policy', 'list', '--system', '--custom'],
      ['iam', 'policy', 'attach', 'P'],
      ['iam', 'policy', 'attach', 'P', '--user', 'a', '--group', 'g'],
      ['iam', 'group', 'add-user', 'ops'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^ensnap: /);
    }
    assert.deepEqual(recorded, [], 'no request was sent');
  });
});
