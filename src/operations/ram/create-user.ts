import { defineOperation, required } from '../spec.js';
import { userCreated } from './render.js';
import { comments, displayName, email, mobilePhone, userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'CreateUser',
  ramAction: 'ram:CreateUser',
  accessLevel: 'create',
  params: {
    UserName: required(userName()),
    DisplayName: displayName(),
    MobilePhone: mobilePhone(),
    Email: email(),
    Comments: comments(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const created = await ctx.iam.createUser(ctx.caller, {
      userName: input.UserName,
      displayName: input.DisplayName,
      mobilePhone: input.MobilePhone,
      email: input.Email,
      comments: input.Comments,
    });
    return { User: userCreated(created) };
  },
});
