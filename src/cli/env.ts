// What every client command needs: the server and credentials from the environment, and the
// command's arguments. A missing or bad setting is a one-line message and exit status 2.
import { parseArgs } from 'node:util';
import { EnsnapClient } from '../client/ensnap-client.js';

/** The user's mistake in the command line or environment: one line, exit status 2. */
export class UsageError extends Error {}

export const CLIENT_ENVIRONMENT = `environment:
  ENSNAP_ENDPOINT           the running server, e.g. http://127.0.0.1:8080
  ENSNAP_ACCESS_KEY_ID      an AccessKeyId of the account (ensnap serve prints the root one)
  ENSNAP_ACCESS_KEY_SECRET  its AccessKeySecret
`;

export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): EnsnapClient {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new UsageError(`set ${name} (see ensnap --help)`);
    return value;
  };
  const endpoint = need('ENSNAP_ENDPOINT');
  const accessKeyId = need('ENSNAP_ACCESS_KEY_ID');
  const accessKeySecret = need('ENSNAP_ACCESS_KEY_SECRET');
  try {
    return new EnsnapClient({ endpoint, accessKeyId, accessKeySecret });
  } catch {
    throw new UsageError(`ENSNAP_ENDPOINT must be an http:// or https:// URL, not "${endpoint}"`);
  }
}

/** A command's options: each a string value (`--name value`) or a flag (`--json`). */
export type OptionKinds = Record<string, 'string' | 'boolean'>;
export type OptionValues = Record<string, string | boolean | undefined>;

/**
 * The command's positional arguments (exactly `names`) and options, or its usage on --help
 * (returns undefined after printing it). A flag not given is false; a string option, undefined.
 */
export function parseCommand(
  argv: string[],
  names: string[],
  options: OptionKinds,
  usage: string,
): { args: string[]; options: OptionValues } | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return undefined;
  }
  let parsed: { positionals: string[]; values: OptionValues };
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([name, type]) => [name, { type }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length !== names.length)
    throw new UsageError(
      names.length === 0
        ? 'expected no arguments (see --help)'
        : `expected ${names.map((n) => `<${n}>`).join(' ')} (see --help)`,
    );
  const values: OptionValues = {};
  for (const [name, type] of Object.entries(options))
    values[name] = type === 'boolean' ? parsed.values[name] === true : parsed.values[name];
  return { args: parsed.positionals, options: values };
}

/**
 * The command's positional arguments (exactly `names`), or its usage on --help (returns
 * undefined after printing it).
 */
export function positionals(argv: string[], names: string[], usage: string): string[] | undefined {
  return parseCommand(argv, names, {}, usage)?.args;
}
