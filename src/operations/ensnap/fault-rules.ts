// Fault rules as the fault operations take and answer them (the operator's, version 2026-11-01).
// The parameter names are the rules file's field names too.
import { invalidParameter } from '../../errors/catalog.js';
import { LATENCY_MAX_MS, type FaultRule } from '../../domain/faults.js';
import { boolean, integer, required, scalar, string } from '../spec.js';

export const faultRuleParams = {
  MatchAction: required(string()),
  MatchAccountId: string(),
  MatchRegionId: string(),
  Probability: scalar('number (0–1)', (raw, name) => {
    const value = Number(raw);
    if (!/^[0-9.]+$/.test(raw) || !(value >= 0 && value <= 1)) throw invalidParameter(name);
    return value;
  }),
  Count: integer(1, 1_000_000_000),
  Seed: integer(0, 0xffffffff),
  ErrorCode: string(),
  LatencyMs: integer(1, LATENCY_MAX_MS),
  FailNextSnapshot: boolean(),
};

export function renderFaultRule(rule: FaultRule): Record<string, unknown> {
  const effect = rule.effect;
  return {
    RuleId: rule.id,
    MatchAction: rule.action,
    MatchAccountId: rule.accountId ?? '',
    MatchRegionId: rule.regionId ?? '',
    Probability: rule.probability,
    // -1: no limit.
    Remaining: rule.remaining ?? -1,
    Seed: rule.seed,
    ErrorCode: effect.type === 'error' ? effect.code : '',
    LatencyMs: effect.type === 'latency' ? effect.ms : 0,
    FailNextSnapshot: effect.type === 'fail-next-snapshot',
    Fired: rule.fired,
  };
}
