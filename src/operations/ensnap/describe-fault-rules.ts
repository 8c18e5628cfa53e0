import { defineOperation } from '../spec.js';
import { renderFaultRule } from './fault-rules.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DescribeFaultRules',
  ramAction: 'ensnap:DescribeFaultRules',
  accessLevel: 'list',
  params: {},
  coverage: { status: 'complete' },
  async handle(ctx) {
    const rules = ctx.faults.describe(ctx.caller);
    return { TotalCount: rules.length, Rules: rules.map(renderFaultRule) };
  },
});
