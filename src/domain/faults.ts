// Fault injection, so that users can test how their clients handle errors: rules that match calls
// (action, account, region) and answer a catalog error, delay the call, or make the account's next
// snapshot copy end in error. Rules live in memory (plus the file loaded at start); each draws
// from its own seeded generator, so a run with the same seed and calls injects the same faults.
import { ApiError, ERROR_CATALOG, invalidParameter, type ErrorKey } from '../errors/catalog.js';
import { isOperator, OPERATOR_ONLY, type Caller } from './caller.js';

/** A rule as AddFaultRule and the rules file give it (the file's fields are the API's parameters). */
export interface FaultRuleInput {
  MatchAction: string;
  MatchAccountId?: string;
  MatchRegionId?: string;
  Probability?: number;
  Count?: number;
  Seed?: number;
  ErrorCode?: string;
  LatencyMs?: number;
  FailNextSnapshot?: boolean;
}

export type FaultEffect =
  | { type: 'error'; code: string; key: ErrorKey; args: string[] }
  | { type: 'latency'; ms: number }
  | { type: 'fail-next-snapshot' };

export interface FaultRule {
  id: string;
  action: string;
  accountId?: string;
  regionId?: string;
  /** 1 unless the rule says otherwise. */
  probability: number;
  /** How many more times the rule fires; undefined: no limit. */
  remaining?: number;
  seed: number;
  effect: FaultEffect;
  fired: number;
}

/** One call, as far as rules look at it. */
export interface FaultCall {
  action: string;
  caller: Caller;
  /** The request's EnsRegionId (or RegionId) parameter, if any. */
  regionId?: string;
  requestId: string;
}

/** What was injected, for the log and the metrics. */
export interface InjectedFault {
  ruleId: string;
  action: string;
  accountId: string;
  requestId: string;
  /** The error code answered, or `latency` / `fail-next-snapshot`. */
  code: string;
}

export const LATENCY_MAX_MS = 60_000;

/** The fault operations themselves: never faulted, so that rules can always be listed and cleared. */
const FAULT_ACTIONS = new Set(['AddFaultRule', 'DescribeFaultRules', 'ClearFaultRules']);

export interface FaultServiceOptions {
  /** ENSNAP_FAULTS: off refuses the fault operations and injects nothing. */
  enabled: boolean;
  /** Seeds every rule that has no seed of its own (mixed with the rule's number). */
  seed: number;
  operatorAccountId: string;
  onInjected: (fault: InjectedFault) => void;
}

export class FaultService {
  private rules: ActiveRule[] = [];
  private ruleNumber = 0;
  /** Accounts whose next snapshot copy fails, with the rule that said so (first in, first out). */
  private readonly snapshotFailures = new Map<string, string[]>();

  constructor(private readonly options: FaultServiceOptions) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  get activeCount(): number {
    return this.rules.length;
  }

  get seed(): number {
    return this.options.seed;
  }

  /** A rule of the configuration file, before the server listens. */
  load(input: Record<string, unknown>): void {
    this.addRule(input);
  }

  add(caller: Caller, input: Record<string, unknown>): FaultRule {
    this.requireOperator(caller);
    return this.addRule(input);
  }

  describe(caller: Caller): FaultRule[] {
    this.requireOperator(caller);
    return this.rules.map(withoutGenerator);
  }

  /** Removes every rule and every snapshot failure still pending; answers how many rules there were. */
  clear(caller: Caller): number {
    this.requireOperator(caller);
    const count = this.rules.length;
    this.rules = [];
    this.snapshotFailures.clear();
    return count;
  }

  /**
   * Runs the rules, in the order they were added, against one authenticated and authorized call:
   * throws the error of the first rule that answers one, else answers the latency to add (ms).
   * A rule that fires its last time is removed.
   */
  inject(call: FaultCall): number {
    if (this.rules.length === 0 || FAULT_ACTIONS.has(call.action)) return 0;
    let latencyMs = 0;
    for (const rule of [...this.rules]) {
      if (!matches(rule, call) || !fires(rule)) continue;
      rule.fired++;
      if (rule.remaining !== undefined && --rule.remaining === 0)
        this.rules = this.rules.filter((r) => r !== rule);
      const report = {
        ruleId: rule.id,
        action: call.action,
        accountId: call.caller.accountId,
        requestId: call.requestId,
      };
      const effect = rule.effect;
      if (effect.type === 'error') {
        const error = new ApiError(effect.key, ...effect.args);
        this.options.onInjected({ ...report, code: error.code });
        throw error;
      }
      this.options.onInjected({ ...report, code: effect.type });
      if (effect.type === 'latency') latencyMs += effect.ms;
      else
        this.snapshotFailures.set(call.caller.accountId, [
          ...(this.snapshotFailures.get(call.caller.accountId) ?? []),
          rule.id,
        ]);
    }
    return latencyMs;
  }

  /** Whether the account's next snapshot copy is to fail (CreateSnapshot then leaves it to the job). */
  snapshotFailurePending(accountId: string): boolean {
    return this.snapshotFailures.has(accountId);
  }

  /** Called by a snapshot copy job: the failure message if this copy is to fail (it is then used up). */
  takeSnapshotFailure(accountId: string): string | undefined {
    const pending = this.snapshotFailures.get(accountId);
    const ruleId = pending?.shift();
    if (pending?.length === 0) this.snapshotFailures.delete(accountId);
    return ruleId === undefined ? undefined : `the snapshot copy failed (injected by fault rule ${ruleId})`;
  }

  private addRule(input: Record<string, unknown>): FaultRule {
    const fields = parseRule(input);
    const number = ++this.ruleNumber;
    // A rule without a seed of its own still repeats from run to run under the same global seed.
    const seed = fields.seed ?? (this.options.seed + Math.imul(number, 0x9e3779b9)) >>> 0;
    const rule = { id: `fr-${number}`, ...fields, seed, fired: 0, random: mulberry32(seed) };
    this.rules.push(rule);
    return withoutGenerator(rule);
  }

  private requireOperator(caller: Caller): void {
    if (!isOperator(caller, this.options.operatorAccountId))
      throw new ApiError('NoPermission', OPERATOR_ONLY);
    if (!this.options.enabled) throw new ApiError('FaultInjectionDisabled');
  }
}

/** A rule and its own random generator. */
type ActiveRule = FaultRule & { random: () => number };

const withoutGenerator = ({ random: _, ...rule }: ActiveRule): FaultRule => rule;

function matches(rule: FaultRule, call: FaultCall): boolean {
  return (
    (rule.action === '*' || rule.action === call.action) &&
    (rule.accountId === undefined || rule.accountId === call.caller.accountId) &&
    (rule.regionId === undefined || rule.regionId === call.regionId)
  );
}

/** A rule of probability 1 fires without drawing, so a count-only rule uses no randomness. */
function fires(rule: ActiveRule): boolean {
  return rule.probability >= 1 || rule.random() < rule.probability;
}

/**
 * mulberry32: a 32-bit state, a uniform float in [0, 1) per call. Small and fast, and its
 * sequence depends on the seed alone (statistical quality is plenty for fault rates).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type RuleFields = Omit<FaultRule, 'id' | 'seed' | 'fired'> & { seed?: number };

/** Checks a rule field by field; a bad field is `InvalidParameter.<Field>`, whether from the API or the file. */
function parseRule(input: Record<string, unknown>): RuleFields {
  const text = (field: keyof FaultRuleInput, check: RegExp): string | undefined => {
    const value = input[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !check.test(value)) throw invalidParameter(field);
    return value;
  };
  const whole = (field: keyof FaultRuleInput, min: number, max: number): number | undefined => {
    const value = input[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw invalidParameter(field);
    return value;
  };
  const known = new Set<string>([
    'MatchAction',
    'MatchAccountId',
    'MatchRegionId',
    'Probability',
    'Count',
    'Seed',
    'ErrorCode',
    'LatencyMs',
    'FailNextSnapshot',
  ]);
  const unknown = Object.keys(input).find((name) => !known.has(name) && input[name] !== undefined);
  if (unknown !== undefined) throw invalidParameter(unknown);

  const action = text('MatchAction', /^(\*|[A-Za-z]{1,64})$/);
  if (action === undefined) throw new ApiError('MissingParameter', 'MatchAction');
  const probability = input.Probability;
  if (
    probability !== undefined &&
    (typeof probability !== 'number' || !(probability >= 0 && probability <= 1))
  )
    throw invalidParameter('Probability');
  const code = text('ErrorCode', /^[A-Za-z0-9_.]{1,128}$/);
  const latencyMs = whole('LatencyMs', 1, LATENCY_MAX_MS);
  const failNextSnapshot = input.FailNextSnapshot;
  if (failNextSnapshot !== undefined && typeof failNextSnapshot !== 'boolean')
    throw invalidParameter('FailNextSnapshot');

  // Exactly one effect.
  const effects: FaultEffect[] = [];
  if (code !== undefined) effects.push({ type: 'error', code, ...catalogError(code) });
  if (latencyMs !== undefined) effects.push({ type: 'latency', ms: latencyMs });
  if (failNextSnapshot === true) effects.push({ type: 'fail-next-snapshot' });
  const [effect, ...more] = effects;
  if (effect === undefined)
    throw new ApiError('MissingParameter', 'ErrorCode, LatencyMs or FailNextSnapshot');
  if (more.length > 0) throw invalidParameter('ErrorCode');

  return {
    action,
    accountId: text('MatchAccountId', /^[0-9]{16}$/),
    regionId: text('MatchRegionId', /^[a-z0-9][a-z0-9-]{1,63}$/),
    probability: (probability as number | undefined) ?? 1,
    remaining: whole('Count', 1, 1_000_000_000),
    seed: whole('Seed', 0, 0xffffffff),
    effect,
  };
}

/**
 * The catalog entry of an error code: a key as it stands (`IncorrectStatus.Disk`), or a code
 * filling a templated key (`InvalidParameter.DiskId` is `InvalidParameter.%s` with `DiskId`).
 */
function catalogError(code: string): { key: ErrorKey; args: string[] } {
  if (Object.hasOwn(ERROR_CATALOG, code) && !code.includes('%s')) return { key: code as ErrorKey, args: [] };
  for (const key of Object.keys(ERROR_CATALOG) as ErrorKey[]) {
    if (!key.includes('%s')) continue;
    const pattern = new RegExp(`^${key.replace(/\./g, '\\.').replace(/%s/g, '([A-Za-z0-9_]+)')}$`);
    const args = pattern.exec(code)?.slice(1);
    if (args) return { key, args };
  }
  throw invalidParameter('ErrorCode');
}
