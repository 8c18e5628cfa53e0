// Command groups with sub-commands (`ensnap account keys create …`, `ensnap iam user list`): a tree
// of words whose leaves are client commands. Every leaf takes --json and --help.
import type { EnsnapClient } from '../client/ensnap-client.js';
import { clientFromEnv, parseCommand, UsageError, type OptionKinds, type OptionValues } from './env.js';

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
