// `ensnap account …`: the operator's accounts (ensnap's API version 2026-11-01), with the
// operator's root key in the environment.
import type { EnsnapClient } from '../client/ensnap-client.js';
import {
  callEnsnap,
  COMMAND_USAGE_FOOTER,
  optionalOption,
  runCommand,
  type CommandInput,
  type CommandTree,
} from './commands.js';
import { fields, json, result, SECRET_NOTE, table, text } from './output.js';

export const ACCOUNT_USAGE = `usage: ensnap account create [--name <AccountName>]
       ensnap account list
       ensnap account delete <AccountId>
       ensnap account set <AccountId> [--balance N] [--overdue N] [--frozen true|false]
                          [--real-name true|false] [--snapshots-per-disk N]
                          [--snapshots-per-account N] [--snapshot-capacity-gib N]
       ensnap account keys list <AccountId>
       ensnap account keys create <AccountId>
       ensnap account keys delete <AccountId> <AccessKeyId>

The deployment's accounts, for its operator: the root of the first account, 1000000000000001
(ENSNAP_ACCESS_KEY_ID / SECRET must be the key \`ensnap serve\` printed or was configured with).

create       A new account and its root AccessKey. The AccessKeySecret is printed only now.
             --name: 1-64 letters, digits, spaces, '.', '_', '-'.
list         Every account: id, name, creation time, root keys, disks, snapshots.
delete       Deletes an account that holds no disks and no snapshots (delete them first, with the
             account's own key); its AccessKeys stop working at once.
set          The account's standing and quotas (options not given stay as they are): its balance
             and overdue amount (currency units), frozen, real-name verified, and its own
             snapshot quotas (0: no limit). A frozen, unverified or overdue account's
             CreateSnapshot and CreateDisk are refused, as is a CreateSnapshot its balance or
             quotas do not cover. Prints the standing after the change.
keys list    The account's root AccessKeys (never their secrets).
keys create  Another root AccessKey for the account (at most 2), to rotate: create, switch, delete.
keys delete  Deletes one root AccessKey of the account; it stops working at once.

The operator's own account is not changed here: its key is the service's configuration.
${COMMAND_USAGE_FOOTER}`;

/** Every page of DescribeAccounts. */
async function allAccounts(client: EnsnapClient): Promise<Record<string, unknown>[]> {
  const accounts: Record<string, unknown>[] = [];
  for (let page = 1; ; page++) {
    const r = await callEnsnap(client, 'DescribeAccounts', { PageNumber: String(page), PageSize: '100' });
    const items = r.Accounts as Record<string, unknown>[];
    accounts.push(...items);
    if (items.length === 0 || accounts.length >= Number(r.TotalCount)) return accounts;
  }
}

/** A new key's answer: its fields and the reminder that the secret is not shown again. */
function printNewKey(answer: Record<string, unknown>, names: string[], input: CommandInput): void {
  if (input.json) process.stdout.write(json(result(answer)));
  else process.stdout.write(fields(names.map((name) => [name, answer[name]])) + SECRET_NOTE);
}

const ACCOUNT_COMMANDS: CommandTree = {
  create: {
    args: [],
    options: { name: 'string' },
    async run(client, input) {
      const answer = await callEnsnap(client, 'CreateAccount', {
        AccountName: optionalOption(input, 'name'),
      });
      printNewKey(
        answer,
        ['AccountId', 'AccountName', 'CreateTime', 'AccessKeyId', 'AccessKeySecret'],
        input,
      );
    },
  },
  list: {
    args: [],
    async run(client, input) {
      const accounts = await allAccounts(client);
      if (input.json) return void process.stdout.write(json(accounts));
      process.stdout.write(
        table(
          ['ACCOUNT ID', 'NAME', 'CREATED', 'KEYS', 'DISKS', 'SNAPSHOTS'],
          accounts.map((a) =>
            [a.AccountId, a.AccountName, a.CreateTime, a.AccessKeyCount, a.DiskCount, a.SnapshotCount].map(
              text,
            ),
          ),
        ),
      );
    },
  },
  delete: {
    args: ['AccountId'],
    async run(client, input) {
      const [accountId] = input.args as [string];
      const answer = await callEnsnap(client, 'DeleteAccount', { AccountId: accountId });
      process.stdout.write(input.json ? json(result(answer)) : `deleted account ${accountId}\n`);
    },
  },
  set: {
    args: ['AccountId'],
    options: {
      balance: 'string',
      overdue: 'string',
      frozen: 'string',
      'real-name': 'string',
      'snapshots-per-disk': 'string',
      'snapshots-per-account': 'string',
      'snapshot-capacity-gib': 'string',
    },
    async run(client, input) {
      const [accountId] = input.args as [string];
      const answer = await callEnsnap(client, 'ModifyAccountStanding', {
        AccountId: accountId,
        Balance: optionalOption(input, 'balance'),
        OverdueAmount: optionalOption(input, 'overdue'),
        Frozen: optionalOption(input, 'frozen'),
        RealNameVerified: optionalOption(input, 'real-name'),
        SnapshotsPerDiskQuota: optionalOption(input, 'snapshots-per-disk'),
        SnapshotsPerAccountQuota: optionalOption(input, 'snapshots-per-account'),
        SnapshotCapacityQuotaGiB: optionalOption(input, 'snapshot-capacity-gib'),
      });
      if (input.json) return void process.stdout.write(json(result(answer)));
      const quota = (value: unknown) => (value === null ? 'default' : value);
      process.stdout.write(
        fields([
          ['AccountId', answer.AccountId],
          ['Balance', answer.Balance],
          ['OverdueAmount', answer.OverdueAmount],
          ['Frozen', answer.Frozen],
          ['RealNameVerified', answer.RealNameVerified],
          ['SnapshotsPerDiskQuota', quota(answer.SnapshotsPerDiskQuota)],
          ['SnapshotsPerAccountQuota', quota(answer.SnapshotsPerAccountQuota)],
          ['SnapshotCapacityQuotaGiB', quota(answer.SnapshotCapacityQuotaGiB)],
        ]),
      );
    },
  },
  keys: {
    list: {
      args: ['AccountId'],
      async run(client, input) {
        const [accountId] = input.args as [string];
        const answer = await callEnsnap(client, 'DescribeAccountAccessKeys', { AccountId: accountId });
        const keys = answer.AccessKeys as Record<string, unknown>[];
        if (input.json) return void process.stdout.write(json(keys));
        process.stdout.write(
          table(
            ['ACCESS KEY ID', 'STATUS', 'CREATED'],
            keys.map((k) => [k.AccessKeyId, k.Status, k.CreateTime].map(text)),
          ),
        );
      },
    },
    create: {
      args: ['AccountId'],
      async run(client, input) {
        const [accountId] = input.args as [string];
        const answer = await callEnsnap(client, 'CreateAccountAccessKey', { AccountId: accountId });
        printNewKey(answer, ['AccountId', 'AccessKeyId', 'AccessKeySecret', 'Status', 'CreateTime'], input);
      },
    },
    delete: {
      args: ['AccountId', 'AccessKeyId'],
      async run(client, input) {
        const [accountId, accessKeyId] = input.args as [string, string];
        const answer = await callEnsnap(client, 'DeleteAccountAccessKey', {
          AccountId: accountId,
          AccountAccessKeyId: accessKeyId,
        });
        process.stdout.write(
          input.json ? json(result(answer)) : `deleted AccessKey ${accessKeyId} of account ${accountId}\n`,
        );
      },
    },
  },
};

export function accountCommand(argv: string[]): Promise<void> {
  return runCommand(argv, ACCOUNT_COMMANDS, ACCOUNT_USAGE, 'ensnap account');
}
