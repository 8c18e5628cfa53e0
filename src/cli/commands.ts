// Command groups with sub-commands (`ensnap account keys create …`, `ensnap iam user list`): a tree
// of words whose leaves are client commands. Every leaf takes --json and --help.
import { DATA_VERSION, type EnsnapClient } from '../client/ensnap-client.js';
import {
  CLIENT_ENVIRONMENT,
  clientFromEnv,
  parseCommand,
  UsageError,
  type OptionKinds,
  type OptionValues,
} from './env.js';

/** The end of every command group's usage: output, exit status, how it reaches the server. */
export const COMMAND_USAGE_FOOTER = `Every command takes --json (the answer as JSON, lists as an array) and --help.
Exit status: 0 done, 1 refused (the server's error code and message are printed), 2 usage or
configuration error.

${CLIENT_ENVIRONMENT}`;

/** An action of ensnap's own version (accounts, orders, fault rules). */
export const callEnsnap = (
  client: EnsnapClient,
  action: string,
  params: Record<string, string | undefined> = {},
): Promise<Record<string, unknown>> => client.call(action, params, DATA_VERSION);

export interface CommandInput {
  args: string[];
  options: OptionValues;
  /** --json: print JSON for scripts instead of tables. */
  json: boolean;
}

export interface Command {
  /** Positional arguments, by name (as the usage shows them). */
  args: string[];
  options?: OptionKinds;
  run(client: EnsnapClient, input: CommandInput): Promise<void>;
}

export type CommandTree = { [word: string]: Command | CommandTree };

const isCommand = (node: Command | CommandTree): node is Command => typeof node.run === 'function';

/**
 * Follows `argv` down `tree` to a command and runs it against the server. Without a sub-command
 * (or with --help before one) it prints `usage`: exit status 0 when asked for, 2 otherwise.
 */
export async function runCommand(
  argv: string[],
  tree: CommandTree,
  usage: string,
  name: string,
): Promise<void> {
  let node: Command | CommandTree = tree;
  let words = name;
  let rest = argv;
  while (!isCommand(node)) {
    const [word, ...more]: string[] = rest;
    if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
      process.stdout.write(usage);
      if (word === undefined) process.exitCode = 2;
      return;
    }
    const next: Command | CommandTree | undefined = Object.hasOwn(node, word) ? node[word] : undefined;
    if (next === undefined) throw new UsageError(`unknown command: ${words} ${word} (see ${words} --help)`);
    node = next;
    words += ` ${word}`;
    rest = more;
  }
  const parsed = parseCommand(rest, node.args, { ...node.options, json: 'boolean' }, usage);
  if (!parsed) return;
  const { json, ...options } = parsed.options;
  const client = clientFromEnv();
  try {
    await node.run(client, { args: parsed.args, options, json: json === true });
  } finally {
    client.close();
  }
}

/** The value of a string option the command cannot do without. */
export function requiredOption(input: CommandInput, option: string, what: string): string {
  const value = input.options[option];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${option} <${what}> is required`);
  return value;
}

/** The value of a string option, if given. */
export function optionalOption(input: CommandInput, option: string): string | undefined {
  const value = input.options[option];
  return typeof value === 'string' ? value : undefined;
}
