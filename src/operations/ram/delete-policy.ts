import { boolean, defineOperation, required } from '../spec.js';
import { policyName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'DeletePolicy',
  ramAction: 'ram:DeletePolicy',
  accessLevel: 'delete',
  params: { PolicyName: required(policyName()), CascadingDelete: boolean() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.deletePolicy(ctx.caller, input.PolicyName, input.CascadingDelete ?? false);
    return {};
  },
});
