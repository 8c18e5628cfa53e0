// `ensnap iam …`: RAM users, their AccessKeys, policies and groups of one account, for operators
// who do not use the API. A client of the RAM API (Version 2015-05-01, the RAM parameter names)
// on the same endpoint, acting on the account whose root key is in the environment.
import { readFile } from 'node:fs/promises';
import { RAM_VERSION, type EnsnapClient } from '../client/ensnap-client.js';
import {
  COMMAND_USAGE_FOOTER,
  optionalOption,
  requiredOption,
  runCommand,
  type Command,
  type CommandInput,
  type CommandTree,
} from './commands.js';
import { UsageError } from './env.js';
import { fields, json, result, SECRET_NOTE, table, text } from './output.js';

export const IAM_USAGE = `usage: ensnap iam user create <UserName> [--display-name <name>] [--comments <text>]
       ensnap iam user list
       ensnap iam user get <UserName>
       ensnap iam user delete <UserName>
       ensnap iam key create --user <UserName>
       ensnap iam key list --user <UserName>
       ensnap iam key disable <AccessKeyId> --user <UserName>
       ensnap iam key enable <AccessKeyId> --user <UserName>
       ensnap iam key delete <AccessKeyId> --user <UserName>
       ensnap iam policy create <PolicyName> --document <file> [--description <text>]
       ensnap iam policy list [--system | --custom]
       ensnap iam policy get <PolicyName> [--system]
       ensnap iam policy delete <PolicyName>
       ensnap iam policy attach <PolicyName> (--user <UserName> | --group <GroupName>) [--system]
       ensnap iam policy detach <PolicyName> (--user <UserName> | --group <GroupName>) [--system]
       ensnap iam group create <GroupName> [--comments <text>]
       ensnap iam group add-user <GroupName> --user <UserName>
       ensnap iam group remove-user <GroupName> --user <UserName>

RAM users, their AccessKeys, policies and groups of the account whose root key is in
ENSNAP_ACCESS_KEY_ID / SECRET: each command is one call (two for listings of many pages) of
the RAM API (Version 2015-05-01) on the same endpoint, as the official SDK would make it.

user        CreateUser, ListUsers, GetUser, DeleteUser (a user with keys, policies or groups
            cannot be deleted: remove them first).
key         CreateAccessKey (the AccessKeySecret is printed only now), ListAccessKeys,
            UpdateAccessKey (disable: Inactive, enable: Active), DeleteAccessKey. A disabled or
            deleted key is refused from the next request on.
policy      CreatePolicy (--document: a file holding the policy document, JSON), ListPolicies
            (--system or --custom: only those), GetPolicy (with its default version's document),
            DeletePolicy, AttachPolicyTo{User,Group}, DetachPolicyFrom{User,Group}. --system
            names a built-in policy (AliyunENSFullAccess, AliyunENSReadOnlyAccess).
group       CreateGroup, AddUserToGroup, RemoveUserFromGroup.

${COMMAND_USAGE_FOOTER}`;

type Answer = Record<string, unknown>;

const ram = (client: EnsnapClient, action: string, params: Record<string, string | undefined>) =>
  client.call(action, params, RAM_VERSION);

/** RAM lists sit one level down: `Users.User`, `AccessKeys.AccessKey`, `Policies.Policy`. */
function listIn(answer: Answer, outer: string, inner: string): Answer[] {
  const container = answer[outer] as Answer | undefined;
  return (container?.[inner] as Answer[] | undefined) ?? [];
}

/** Every page of a RAM listing (Marker and IsTruncated). */
async function listAll(
  client: EnsnapClient,
  action: string,
  params: Record<string, string | undefined>,
  outer: string,
  inner: string,
): Promise<Answer[]> {
  const items: Answer[] = [];
  let marker: string | undefined;
  for (;;) {
    const answer = await ram(client, action, { ...params, Marker: marker, MaxItems: '100' });
    items.push(...listIn(answer, outer, inner));
    if (answer.IsTruncated !== true || !answer.Marker) return items;
    marker = String(answer.Marker);
  }
}

/** The record the answer carries (User, AccessKey, Policy, Group), one field a line. */
function printRecord(input: CommandInput, answer: Answer, record: string, note = ''): void {
  if (input.json) return void process.stdout.write(json(result(answer)));
  process.stdout.write(fields(Object.entries((answer[record] as Answer | undefined) ?? {})) + note);
}

function printList(input: CommandInput, items: Answer[], columns: [header: string, field: string][]): void {
  if (input.json) return void process.stdout.write(json(items));
  process.stdout.write(
    table(
      columns.map(([header]) => header),
      items.map((item) => columns.map(([, field]) => text(item[field]))),
    ),
  );
}

/** A change with nothing to show: a line saying what was done (or the answer, for --json). */
function printDone(input: CommandInput, answer: Answer, done: string): void {
  process.stdout.write(input.json ? json(result(answer)) : `${done}\n`);
}

const policyType = (input: CommandInput) => (input.options.system === true ? 'System' : 'Custom');

/** attach / detach: to a user or to a group, exactly one of them. */
function policyAttachment(verb: 'Attach' | 'Detach'): Command {
  return {
    args: ['PolicyName'],
    options: { user: 'string', group: 'string', system: 'boolean' },
    async run(client, input) {
      const [policyName] = input.args as [string];
      const user = optionalOption(input, 'user');
      const group = optionalOption(input, 'group');
      if ((user === undefined) === (group === undefined))
        throw new UsageError('give one of --user <UserName> and --group <GroupName>');
      const preposition = verb === 'Attach' ? 'To' : 'From';
      const params = { PolicyType: policyType(input), PolicyName: policyName };
      const answer =
        user !== undefined
          ? await ram(client, `${verb}Policy${preposition}User`, { ...params, UserName: user })
          : await ram(client, `${verb}Policy${preposition}Group`, { ...params, GroupName: group });
      const target = user !== undefined ? `user ${user}` : `group ${group}`;
      printDone(
        input,
        answer,
        `${verb === 'Attach' ? 'attached' : 'detached'} ${policyName} ${preposition.toLowerCase()} ${target}`,
      );
    },
  };
}

/** enable / disable: UpdateAccessKey to Active or Inactive. */
function keyStatus(status: 'Active' | 'Inactive'): Command {
  return {
    args: ['AccessKeyId'],
    options: { user: 'string' },
    async run(client, input) {
      const [accessKeyId] = input.args as [string];
      const user = requiredOption(input, 'user', 'UserName');
      const answer = await ram(client, 'UpdateAccessKey', {
        UserAccessKeyId: accessKeyId,
        Status: status,
        UserName: user,
      });
      printDone(input, answer, `AccessKey ${accessKeyId} of user ${user} is now ${status}`);
    },
  };
}

const IAM_COMMANDS: CommandTree = {
  user: {
    create: {
      args: ['UserName'],
      options: { 'display-name': 'string', comments: 'string' },
      async run(client, input) {
        const [userName] = input.args as [string];
        const answer = await ram(client, 'CreateUser', {
          UserName: userName,
          DisplayName: optionalOption(input, 'display-name'),
          Comments: optionalOption(input, 'comments'),
        });
        printRecord(input, answer, 'User');
      },
    },
    list: {
      args: [],
      async run(client, input) {
        const users = await listAll(client, 'ListUsers', {}, 'Users', 'User');
        printList(input, users, [
          ['USER NAME', 'UserName'],
          ['DISPLAY NAME', 'DisplayName'],
          ['CREATED', 'CreateDate'],
          ['COMMENTS', 'Comments'],
        ]);
      },
    },
    get: {
      args: ['UserName'],
      async run(client, input) {
        const [userName] = input.args as [string];
        printRecord(input, await ram(client, 'GetUser', { UserName: userName }), 'User');
      },
    },
    delete: {
      args: ['UserName'],
      async run(client, input) {
        const [userName] = input.args as [string];
        printDone(input, await ram(client, 'DeleteUser', { UserName: userName }), `deleted user ${userName}`);
      },
    },
  },
  key: {
    create: {
      args: [],
      options: { user: 'string' },
      async run(client, input) {
        const user = requiredOption(input, 'user', 'UserName');
        printRecord(
          input,
          await ram(client, 'CreateAccessKey', { UserName: user }),
          'AccessKey',
          SECRET_NOTE,
        );
      },
    },
    list: {
      args: [],
      options: { user: 'string' },
      async run(client, input) {
        const user = requiredOption(input, 'user', 'UserName');
        const answer = await ram(client, 'ListAccessKeys', { UserName: user });
        printList(input, listIn(answer, 'AccessKeys', 'AccessKey'), [
          ['ACCESS KEY ID', 'AccessKeyId'],
          ['STATUS', 'Status'],
          ['CREATED', 'CreateDate'],
        ]);
      },
    },
    disable: keyStatus('Inactive'),
    enable: keyStatus('Active'),
    delete: {
      args: ['AccessKeyId'],
      options: { user: 'string' },
      async run(client, input) {
        const [accessKeyId] = input.args as [string];
        const user = requiredOption(input, 'user', 'UserName');
        const answer = await ram(client, 'DeleteAccessKey', { UserAccessKeyId: accessKeyId, UserName: user });
        printDone(input, answer, `deleted AccessKey ${accessKeyId} of user ${user}`);
      },
    },
  },
  policy: {
    create: {
      args: ['PolicyName'],
      options: { document: 'string', description: 'string' },
      async run(client, input) {
        const [policyName] = input.args as [string];
        const file = requiredOption(input, 'document', 'file');
        let document: string;
        try {
          document = await readFile(file, 'utf8');
        } catch (error) {
          throw new UsageError(`cannot read the policy document ${file}: ${(error as Error).message}`);
        }
        const answer = await ram(client, 'CreatePolicy', {
          PolicyName: policyName,
          PolicyDocument: document,
          Description: optionalOption(input, 'description'),
        });
        printRecord(input, answer, 'Policy');
      },
    },
    list: {
      args: [],
      options: { system: 'boolean', custom: 'boolean' },
      async run(client, input) {
        if (input.options.system === true && input.options.custom === true)
          throw new UsageError('give at most one of --system and --custom');
        const type = input.options.system ? 'System' : input.options.custom ? 'Custom' : undefined;
        const policies = await listAll(client, 'ListPolicies', { PolicyType: type }, 'Policies', 'Policy');
        printList(input, policies, [
          ['POLICY NAME', 'PolicyName'],
          ['TYPE', 'PolicyType'],
          ['VERSION', 'DefaultVersion'],
          ['DESCRIPTION', 'Description'],
        ]);
      },
    },
    get: {
      args: ['PolicyName'],
      options: { system: 'boolean' },
      async run(client, input) {
        const [policyName] = input.args as [string];
        const answer = await ram(client, 'GetPolicy', {
          PolicyName: policyName,
          PolicyType: policyType(input),
        });
        if (input.json) return void process.stdout.write(json(result(answer)));
        const policy = Object.entries((answer.Policy as Answer | undefined) ?? {}).filter(
          ([name]) => name !== 'PolicyDocument',
        );
        const document = (answer.DefaultPolicyVersion as Answer | undefined)?.PolicyDocument;
        process.stdout.write(fields(policy));
        if (document !== undefined) process.stdout.write(`\n${documentText(document)}`);
      },
    },
    delete: {
      args: ['PolicyName'],
      async run(client, input) {
        const [policyName] = input.args as [string];
        const answer = await ram(client, 'DeletePolicy', { PolicyName: policyName });
        printDone(input, answer, `deleted policy ${policyName}`);
      },
    },
    attach: policyAttachment('Attach'),
    detach: policyAttachment('Detach'),
  },
  group: {
    create: {
      args: ['GroupName'],
      options: { comments: 'string' },
      async run(client, input) {
        const [groupName] = input.args as [string];
        const answer = await ram(client, 'CreateGroup', {
          GroupName: groupName,
          Comments: optionalOption(input, 'comments'),
        });
        printRecord(input, answer, 'Group');
      },
    },
    'add-user': groupMembership('AddUserToGroup', (user, group) => `added user ${user} to group ${group}`),
    'remove-user': groupMembership(
      'RemoveUserFromGroup',
      (user, group) => `removed user ${user} from group ${group}`,
    ),
  },
};

function groupMembership(action: string, done: (user: string, group: string) => string): Command {
  return {
    args: ['GroupName'],
    options: { user: 'string' },
    async run(client, input) {
      const [groupName] = input.args as [string];
      const user = requiredOption(input, 'user', 'UserName');
      const answer = await ram(client, action, { GroupName: groupName, UserName: user });
      printDone(input, answer, done(user, groupName));
    },
  };
}

/** A policy document as RAM answers it (JSON text), indented for reading. */
function documentText(document: unknown): string {
  if (typeof document !== 'string') return json(document);
  try {
    return json(JSON.parse(document));
  } catch {
    return document.endsWith('\n') ? document : `${document}\n`;
  }
}

export function iamCommand(argv: string[]): Promise<void> {
  return runCommand(argv, IAM_COMMANDS, IAM_USAGE, 'ensnap iam');
}
