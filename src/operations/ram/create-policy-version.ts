import { boolean, defineOperation, oneOf, required } from '../spec.js';
import { policyVersion } from './render.js';
import { policyDocument, policyName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'CreatePolicyVersion',
  ramAction: 'ram:CreatePolicyVersion',
  accessLevel: 'create',
  params: {
    PolicyName: required(policyName()),
    PolicyDocument: required(policyDocument()),
    SetAsDefault: boolean(),
    RotateStrategy: oneOf(['None', 'DeleteOldestNonDefaultVersionWhenLimitExceeded'] as const),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const created = await ctx.iam.createPolicyVersion(ctx.caller, input.PolicyName, input.PolicyDocument, {
      setAsDefault: input.SetAsDefault ?? false,
      rotate: input.RotateStrategy === 'DeleteOldestNonDefaultVersionWhenLimitExceeded',
    });
    return { PolicyVersion: policyVersion(created) };
  },
});
