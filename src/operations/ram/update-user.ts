import { defineOperation, required } from '../spec.js';
import { user } from './render.js';
import { comments, displayName, email, mobilePhone, userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'UpdateUser',
  ramAction: 'ram:UpdateUser',
  accessLevel: 'update',
  params: {
    UserName: required(userName()),
    NewUserName: userName(),
    NewDisplayName: displayName(),
    NewMobilePhone: mobilePhone(),
    NewEmail: email(),
    NewComments: comments(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const updated = await ctx.iam.updateUser(ctx.caller, input.UserName, {
      userName: input.NewUserName,
      displayName: input.NewDisplayName,
      mobilePhone: input.NewMobilePhone,
      email: input.NewEmail,
      comments: input.NewComments,
    });
    return { User: user(updated) };
  },
});
