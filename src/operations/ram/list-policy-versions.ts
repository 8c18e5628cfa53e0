import { defineOperation, required } from '../spec.js';
import { policyVersion } from './render.js';
import { policyName, policyType } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListPolicyVersions',
  ramAction: 'ram:ListPolicyVersions',
  accessLevel: 'list',
  params: { PolicyType: required(policyType()), PolicyName: required(policyName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const versions = await ctx.iam.listPolicyVersions(ctx.caller, {
      type: input.PolicyType,
      name: input.PolicyName,
    });
    return { PolicyVersions: { PolicyVersion: versions.map(policyVersion) } };
  },
});
