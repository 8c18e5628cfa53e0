import { defineOperation, integer, string } from '../spec.js';
import { paging, policy } from './render.js';
import { policyType } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListPolicies',
  ramAction: 'ram:ListPolicies',
  accessLevel: 'list',
  params: { PolicyType: policyType(), Marker: string(), MaxItems: integer(1, 1000) },
  coverage: { status: 'partial', missing: 'Tag filter; Tags in the answer' },
  async handle(ctx, input) {
    const page = await ctx.iam.listPolicies(
      ctx.caller,
      input.PolicyType,
      input.Marker,
      input.MaxItems ?? 100,
    );
    return { ...paging(page.marker), Policies: { Policy: page.items.map(policy) } };
  },
});
