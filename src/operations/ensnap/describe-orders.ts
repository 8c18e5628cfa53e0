import { isoTime } from '../ens/render-time.js';
import { defineOperation, integer, pageNumber, string } from '../spec.js';
import { accountId } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DescribeOrders',
  ramAction: 'ensnap:DescribeOrders',
  accessLevel: 'list',
  params: {
    AccountId: accountId(),
    OrderId: string((value) => /^[0-9]{1,32}$/.test(value)),
    PageNumber: pageNumber(),
    PageSize: integer(1, 100),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = { pageNumber: input.PageNumber ?? 1, pageSize: input.PageSize ?? 10 };
    const result = await ctx.billing.orders(
      ctx.caller,
      { accountId: input.AccountId, orderId: input.OrderId },
      page,
    );
    return {
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
      TotalCount: result.totalCount,
      Orders: result.items.map((o) => ({
        OrderId: o.id,
        AccountId: o.accountId,
        Product: o.product,
        Action: o.action,
        ResourceId: o.resourceId,
        EnsRegionId: o.regionId,
        State: o.state,
        Amount: o.amount,
        CreateTime: isoTime(o.createdMs),
      })),
    };
  },
});
