import { defineOperation, required } from '../spec.js';
import { user } from './render.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'GetUser',
  ramAction: 'ram:GetUser',
  accessLevel: 'read',
  params: { UserName: required(userName()) },
  coverage: { status: 'partial', missing: 'LastLoginDate (ensnap has no console logins)' },
  async handle(ctx, input) {
    return { User: user(await ctx.iam.getUser(ctx.caller, input.UserName)) };
  },
});
