import { defineOperation, ignored, required } from '../spec.js';
import { groupName, policyName, policyType } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'DetachPolicyFromGroup',
  ramAction: 'ram:DetachPolicyFromGroup',
  accessLevel: 'update',
  params: {
    PolicyType: required(policyType()),
    PolicyName: required(policyName()),
    GroupName: required(groupName()),
    ResourceGroupId: ignored(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.detachPolicy(
      ctx.caller,
      { kind: 'group', name: input.GroupName },
      { type: input.PolicyType, name: input.PolicyName },
    );
    return {};
  },
});
