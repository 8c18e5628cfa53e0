import { defineOperation, required } from '../spec.js';
import { isoTime } from '../ens/render-time.js';
import { versionId } from './render.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListPoliciesForUser',
  ramAction: 'ram:ListPoliciesForUser',
  accessLevel: 'list',
  params: { UserName: required(userName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const policies = await ctx.iam.listPoliciesForUser(ctx.caller, input.UserName);
    return {
      Policies: {
        Policy: policies.map((p) => ({
          PolicyName: p.name,
          PolicyType: p.type,
          Description: p.description,
          DefaultVersion: versionId(p.defaultVersion),
          AttachDate: isoTime(p.attachedMs),
        })),
      },
    };
  },
});
