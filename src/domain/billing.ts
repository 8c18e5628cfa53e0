// Billing: the operator sets each account's standing (balance, overdue amount, frozen, real-name
// verified) and quotas, and reads every account's orders. Orders are written by the operations
// that buy something (CreateSnapshot, CopySnapshot, ResizeDisk), in the transaction that writes
// what they bought; the standing is checked there too (see the repository's createSnapshot).
import { ApiError } from '../errors/catalog.js';
import { isOperator, OPERATOR_ONLY, type Caller } from './caller.js';
import type { AccountStanding, Order, Page, PageOf } from './model.js';
import type { MetadataRepository, StandingChange } from './ports.js';

/** The seed's code for each reason an order is refused. */
const REFUSALS = {
  // The account was deleted (with its keys) while the request ran: as if the key were unknown.
  'account-not-found': 'InvalidAccessKeyId.NotFound',
  'account-frozen': 'AccountAliyunAccountFrozen',
  'not-real-name-verified': 'OrderNoRealNameAuthentication',
  overdue: 'OrderArrearage',
  'quota-exceeded': 'OrderQuotaExceeded',
  'insufficient-balance': 'PayInsufficientBalance',
} as const;

/** Why the repository refused to write an order (its outcomes other than the disk's). */
export type OrderRefusal = keyof typeof REFUSALS;

export function orderRefusalError(refusal: OrderRefusal): ApiError {
  return new ApiError(REFUSALS[refusal]);
}

export class BillingService {
  constructor(
    private readonly repo: MetadataRepository,
    private readonly operatorAccountId: string,
  ) {}

  async setStanding(caller: Caller, accountId: string, change: StandingChange): Promise<AccountStanding> {
    this.requireOperator(caller);
    const standing = await this.repo.setAccountStanding(accountId, change);
    if (!standing) throw new ApiError('EntityNotExist.Account');
    return standing;
  }

  async orders(
    caller: Caller,
    filter: { accountId?: string; orderId?: string },
    page: Page,
  ): Promise<PageOf<Order>> {
    this.requireOperator(caller);
    return this.repo.listOrders(filter, page);
  }

  private requireOperator(caller: Caller): void {
    if (!isOperator(caller, this.operatorAccountId)) throw new ApiError('NoPermission', OPERATOR_ONLY);
  }
}
