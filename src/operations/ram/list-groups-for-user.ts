import { defineOperation, required } from '../spec.js';
import { isoTime } from '../ens/render-time.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListGroupsForUser',
  ramAction: 'ram:ListGroupsForUser',
  accessLevel: 'list',
  params: { UserName: required(userName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const memberships = await ctx.iam.listGroupsForUser(ctx.caller, input.UserName);
    return {
      Groups: {
        Group: memberships.map((m) => ({
          GroupId: m.group.groupId,
          GroupName: m.group.groupName,
          Comments: m.group.comments,
          JoinDate: isoTime(m.joinedMs),
        })),
      },
    };
  },
});
