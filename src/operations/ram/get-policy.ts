import { defineOperation, required } from '../spec.js';
import { policy, policyVersion } from './render.js';
import { policyName, policyType } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'GetPolicy',
  ramAction: 'ram:GetPolicy',
  accessLevel: 'read',
  params: { PolicyType: required(policyType()), PolicyName: required(policyName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const found = await ctx.iam.getPolicy(ctx.caller, { type: input.PolicyType, name: input.PolicyName });
    return { Policy: policy(found.policy), DefaultPolicyVersion: policyVersion(found.version) };
  },
});
