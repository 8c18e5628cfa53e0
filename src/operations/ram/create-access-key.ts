import { defineOperation } from '../spec.js';
import { isoTime } from '../ens/render-time.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'CreateAccessKey',
  ramAction: 'ram:CreateAccessKey',
  accessLevel: 'create',
  // Without UserName: a key for the caller itself (a RAM user, or the account's root).
  params: { UserName: userName() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const { key, createdMs } = await ctx.iam.createAccessKey(ctx.caller, input.UserName);
    // The only answer that ever shows the secret.
    return {
      AccessKey: {
        AccessKeyId: key.accessKeyId,
        AccessKeySecret: key.secret,
        Status: key.status,
        CreateDate: isoTime(createdMs),
      },
    };
  },
});
