import { defineOperation, required } from '../spec.js';
import { isoTime } from '../ens/render-time.js';
import { policyName, policyType } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListEntitiesForPolicy',
  ramAction: 'ram:ListEntitiesForPolicy',
  accessLevel: 'list',
  params: { PolicyType: required(policyType()), PolicyName: required(policyName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const entities = await ctx.iam.listEntitiesForPolicy(ctx.caller, {
      type: input.PolicyType,
      name: input.PolicyName,
    });
    return {
      Users: {
        User: entities.users.map((u) => ({
          UserId: u.userId,
          UserName: u.userName,
          DisplayName: u.displayName,
          AttachDate: isoTime(u.attachedMs),
        })),
      },
      Groups: {
        Group: entities.groups.map((g) => ({
          GroupName: g.groupName,
          Comments: g.comments,
          AttachDate: isoTime(g.attachedMs),
        })),
      },
      // ensnap has no RAM roles.
      Roles: { Role: [] },
    };
  },
});
