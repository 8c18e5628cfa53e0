import { defineOperation } from '../spec.js';
import { faultRuleParams, renderFaultRule } from './fault-rules.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'AddFaultRule',
  ramAction: 'ensnap:AddFaultRule',
  accessLevel: 'create',
  params: faultRuleParams,
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    return renderFaultRule(ctx.faults.add(ctx.caller, input));
  },
});
