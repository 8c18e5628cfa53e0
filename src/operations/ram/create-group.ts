import { defineOperation, required } from '../spec.js';
import { isoTime } from '../ens/render-time.js';
import { comments, groupName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'CreateGroup',
  ramAction: 'ram:CreateGroup',
  accessLevel: 'create',
  params: { GroupName: required(groupName()), Comments: comments() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const created = await ctx.iam.createGroup(ctx.caller, input.GroupName, input.Comments);
    return {
      Group: {
        GroupId: created.groupId,
        GroupName: created.groupName,
        Comments: created.comments,
        CreateDate: isoTime(created.createdMs),
      },
    };
  },
});
