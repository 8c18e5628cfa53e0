import { defineOperation, integer, string } from '../spec.js';
import { paging, user } from './render.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'ListUsers',
  ramAction: 'ram:ListUsers',
  accessLevel: 'list',
  params: { Marker: string(), MaxItems: integer(1, 1000) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = await ctx.iam.listUsers(ctx.caller, input.Marker, input.MaxItems ?? 100);
    return { ...paging(page.marker), Users: { User: page.items.map(user) } };
  },
});
