import { defineOperation, ignored, required } from '../spec.js';
import { userName, policyName, policyType } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'AttachPolicyToUser',
  ramAction: 'ram:AttachPolicyToUser',
  accessLevel: 'update',
  params: {
    PolicyType: required(policyType()),
    PolicyName: required(policyName()),
    UserName: required(userName()),
    ResourceGroupId: ignored(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.attachPolicy(
      ctx.caller,
      { kind: 'user', name: input.UserName },
      { type: input.PolicyType, name: input.PolicyName },
    );
    return {};
  },
});
