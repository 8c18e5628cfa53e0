import { defineOperation, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'DescribeEnsRegions',
  ramAction: 'ens:DescribeEnsRegions',
  accessLevel: 'list',
  params: { EnsRegionId: string() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    // An unknown EnsRegionId filters to an empty list, like every Describe call.
    const regions = ctx.regions
      .list()
      .filter((r) => input.EnsRegionId === undefined || r.EnsRegionId === input.EnsRegionId);
    return { Code: 0, EnsRegions: { EnsRegions: regions } };
  },
});
