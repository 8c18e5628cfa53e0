import { defineOperation, integer, string } from '../spec.js';
import { group, paging } from './render.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListGroups',
  ramAction: 'ram:ListGroups',
  accessLevel: 'list',
  params: { Marker: string(), MaxItems: integer(1, 1000) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = await ctx.iam.listGroups(ctx.caller, input.Marker, input.MaxItems ?? 100);
    return { ...paging(page.marker), Groups: { Group: page.items.map(group) } };
  },
});
