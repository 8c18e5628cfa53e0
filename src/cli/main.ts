#!/usr/bin/env node
// The `ensnap` command: a router. `serve` runs the service; the other commands are clients of a
// running server (ENSNAP_ENDPOINT), authenticated like any caller, so they never race the server
// over the data directory.
import { ConfigError } from '../config/config.js';
import { EnsnapError } from '../client/ensnap-client.js';
import { accountCommand } from './account.js';
import { diskCommand } from './disk.js';
import { faultsCommand } from './faults.js';
import { CLIENT_ENVIRONMENT, UsageError } from './env.js';
import { iamCommand } from './iam.js';
import { ordersCommand } from './orders.js';
import { serve } from './serve.js';
import { snapshotCommand } from './snapshot.js';
import { verifyCommand } from './verify.js';

const USAGE = `usage: ensnap <command> [arguments]

commands:
  serve [options]                          start the service (ensnap serve --help for options)
  disk import <DiskId> <file>              write a raw image to a disk
  disk export <DiskId> <file>              save a disk's content to a sparse file
  snapshot export <SnapshotId> <file>      save a snapshot's content to a sparse file
  verify                                   check every stored block and snapshot manifest
  account create|list|delete|keys …        the deployment's accounts (operator only)
  iam user|key|policy|group …              RAM users, AccessKeys, policies, groups of an account
  faults add|list|clear                    fault rules: make calls fail on purpose (operator only)
  orders [--account <AccountId>] | show <OrderId>   every account's orders (operator only)

\`ensnap <command> --help\` documents each. Every command but serve talks to a running server:
${CLIENT_ENVIRONMENT}`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  serve,
  disk: diskCommand,
  snapshot: snapshotCommand,
  verify: verifyCommand,
  account: accountCommand,
  iam: iamCommand,
  faults: faultsCommand,
  orders: ordersCommand,
};

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const run = command === undefined ? undefined : COMMANDS[command];
  if (run) return run(rest);
  const help = command === undefined || command === 'help' || command === '--help' || command === '-h';
  (help ? process.stdout : process.stderr).write(USAGE);
  process.exitCode = help ? 0 : 2;
}

main().catch((error: unknown) => {
  if (error instanceof EnsnapError) {
    process.stderr.write(`ensnap: ${error.code}: ${error.message}\n`);
    process.exit(1);
  }
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof TypeError) {
    process.stderr.write(`ensnap: ${error.message}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ensnap: ${message}\n`);
  process.exit(1);
});
