// `ensnap faults …`: the running server's fault rules (ensnap's API version 2026-11-01), with the
// operator's root key in the environment.
import {
  callEnsnap,
  COMMAND_USAGE_FOOTER,
  optionalOption,
  requiredOption,
  runCommand,
  type CommandTree,
} from './commands.js';
import { json, result, table, text } from './output.js';

export const FAULTS_USAGE = `usage: ensnap faults add --action <Action|*> (--code <ErrorCode> | --latency-ms <N> | --fail-next-snapshot)
                        [--probability <0..1>] [--count <N>] [--account <AccountId>]
                        [--region <EnsRegionId>] [--seed <N>]
       ensnap faults list
       ensnap faults clear

Fault rules make the running server fail calls on purpose, to test how clients handle errors
(operator only: ENSNAP_ACCESS_KEY_ID / SECRET must be the key \`ensnap serve\` printed or was
configured with). Rules live in the server's memory (and ENSNAP_FAULTS_FILE, read at start).

add    A rule for calls of --action (or * for every action), of --account and --region if given.
       Its effect, one of:
         --code                a catalog error code, e.g. IncorrectStatus.Disk, InvalidParameter.DiskId
         --latency-ms          delay the call by N ms (at most 60000)
         --fail-next-snapshot  the account's next snapshot copy ends in error
       It fires on each matching call with --probability (default 1), for at most --count calls
       (then it is spent and removed); --seed fixes its random draws (default: from ENSNAP_FAULTS_SEED).
list   The active rules: what they match, their effect, how often they fired, what is left.
clear  Removes every rule (and any snapshot failure still pending).

${COMMAND_USAGE_FOOTER}`;

/** One rule as a table row: the effect in one column. */
function ruleRow(rule: Record<string, unknown>): string[] {
  const effect = rule.ErrorCode
    ? `error ${text(rule.ErrorCode)}`
    : rule.LatencyMs
      ? `latency ${text(rule.LatencyMs)} ms`
      : 'fail next snapshot';
  const remaining = rule.Remaining === -1 ? '-' : rule.Remaining;
  return [
    rule.RuleId,
    rule.MatchAction,
    rule.MatchAccountId || '*',
    rule.MatchRegionId || '*',
    rule.Probability,
    remaining,
    effect,
    rule.Fired,
    rule.Seed,
  ].map(text);
}

const HEADERS = ['RULE', 'ACTION', 'ACCOUNT', 'REGION', 'PROBABILITY', 'LEFT', 'EFFECT', 'FIRED', 'SEED'];

const FAULT_COMMANDS: CommandTree = {
  add: {
    args: [],
    options: {
      action: 'string',
      code: 'string',
      'latency-ms': 'string',
      'fail-next-snapshot': 'boolean',
      probability: 'string',
      count: 'string',
      account: 'string',
      region: 'string',
      seed: 'string',
    },
    async run(client, input) {
      const rule = await callEnsnap(client, 'AddFaultRule', {
        MatchAction: requiredOption(input, 'action', 'Action|*'),
        MatchAccountId: optionalOption(input, 'account'),
        MatchRegionId: optionalOption(input, 'region'),
        Probability: optionalOption(input, 'probability'),
        Count: optionalOption(input, 'count'),
        Seed: optionalOption(input, 'seed'),
        ErrorCode: optionalOption(input, 'code'),
        LatencyMs: optionalOption(input, 'latency-ms'),
        FailNextSnapshot: input.options['fail-next-snapshot'] === true ? 'true' : undefined,
      });
      process.stdout.write(input.json ? json(result(rule)) : table(HEADERS, [ruleRow(rule)]));
    },
  },
  list: {
    args: [],
    async run(client, input) {
      const rules = (await callEnsnap(client, 'DescribeFaultRules')).Rules as Record<string, unknown>[];
      if (input.json) return void process.stdout.write(json(rules));
      process.stdout.write(rules.length === 0 ? 'no fault rules\n' : table(HEADERS, rules.map(ruleRow)));
    },
  },
  clear: {
    args: [],
    async run(client, input) {
      const answer = await callEnsnap(client, 'ClearFaultRules');
      process.stdout.write(
        input.json ? json(result(answer)) : `cleared ${text(answer.ClearedCount)} fault rule(s)\n`,
      );
    },
  },
};

export function faultsCommand(argv: string[]): Promise<void> {
  return runCommand(argv, FAULT_COMMANDS, FAULTS_USAGE, 'ensnap faults');
}
