import { defineOperation } from '../spec.js';
import { accessKey } from './render.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListAccessKeys',
  ramAction: 'ram:ListAccessKeys',
  accessLevel: 'list',
  params: { UserName: userName() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const keys = await ctx.iam.listAccessKeys(ctx.caller, input.UserName);
    return { AccessKeys: { AccessKey: keys.map(accessKey) } };
  },
});
