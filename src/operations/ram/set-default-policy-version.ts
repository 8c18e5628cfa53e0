import { defineOperation, required } from '../spec.js';
import { policyName, versionId } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'SetDefaultPolicyVersion',
  ramAction: 'ram:SetDefaultPolicyVersion',
  accessLevel: 'update',
  params: { PolicyName: required(policyName()), VersionId: required(versionId()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.setDefaultPolicyVersion(ctx.caller, input.PolicyName, input.VersionId);
    return {};
  },
});
