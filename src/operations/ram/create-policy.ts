import { defineOperation, required } from '../spec.js';
import { isoTime } from '../ens/render-time.js';
import { versionId } from './render.js';
import { policyDescription, policyDocument, policyName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'CreatePolicy',
  ramAction: 'ram:CreatePolicy',
  accessLevel: 'create',
  params: {
    PolicyName: required(policyName()),
    PolicyDocument: required(policyDocument()),
    Description: policyDescription(),
  },
  coverage: { status: 'partial', missing: 'Tag.N.Key/Value (accepted, not stored)' },
  async handle(ctx, input) {
    const created = await ctx.iam.createPolicy(ctx.caller, {
      policyName: input.PolicyName,
      document: input.PolicyDocument,
      description: input.Description,
    });
    return {
      Policy: {
        PolicyName: created.name,
        PolicyType: created.type,
        Description: created.description,
        DefaultVersion: versionId(created.defaultVersion),
        CreateDate: isoTime(created.createdMs),
      },
    };
  },
});
