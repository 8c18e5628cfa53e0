// Accounts: the operator (the root of the first account) creates and deletes the deployment's
// other accounts and rotates their root AccessKeys. Everyone else is refused as VerifyStorage
// refuses them. The operator's own account is the configuration's, never changed through here.
import { ApiError } from '../errors/catalog.js';
import { isOperator, type Caller } from './caller.js';
import { newAccessKeyId, newAccessKeySecret } from './ids.js';
import type { AccessKeyInfo } from './iam/model.js';
import type { Account, AccountSummary, Page, PageOf } from './model.js';
import type { MetadataRepository } from './ports.js';

/** Root AccessKeys an account may hold at once (the cloud's limit). */
const ROOT_ACCESS_KEY_LIMIT = 2;

/** A root AccessKey with its secret: answered once, at its creation. */
export interface NewAccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export class AccountService {
  constructor(
    private readonly repo: MetadataRepository,
    private readonly operatorAccountId: string,
    /** Told of the access keys just deleted, so that no copy of them authenticates anything more. */
    private readonly onAccessKeysDeleted: (accessKeyIds: string[]) => void,
  ) {}

  async create(caller: Caller, name: string | undefined): Promise<{ account: Account; key: NewAccessKey }> {
    this.requireOperator(caller);
    const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
    const account = await this.repo.createAccount(name ?? '', {
      accessKeyId: key.accessKeyId,
      secret: key.accessKeySecret,
    });
    return { account, key };
  }

  async describe(
    caller: Caller,
    filter: { accountId?: string },
    page: Page,
  ): Promise<PageOf<AccountSummary>> {
    this.requireOperator(caller);
    return this.repo.listAccounts(filter, page);
  }

  async delete(caller: Caller, accountId: string): Promise<void> {
    this.requireOperator(caller);
    this.refuseOperatorAccount(accountId);
    const outcome = await this.repo.deleteAccount(accountId);
    if (outcome === 'not-found') throw new ApiError('EntityNotExist.Account');
    if ('disks' in outcome)
      throw new ApiError('DeleteConflict.Account.Resource', String(outcome.disks), String(outcome.snapshots));
    this.onAccessKeysDeleted(outcome.accessKeyIds);
  }

  async accessKeys(caller: Caller, accountId: string): Promise<AccessKeyInfo[]> {
    this.requireOperator(caller);
    const keys = await this.repo.listRootAccessKeys(accountId);
    if (!keys) throw new ApiError('EntityNotExist.Account');
    return keys;
  }

  async createAccessKey(
    caller: Caller,
    accountId: string,
  ): Promise<{ key: NewAccessKey; created: AccessKeyInfo }> {
    this.requireOperator(caller);
    this.refuseOperatorAccount(accountId);
    const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
    const outcome = await this.repo.createRootAccessKey(
      { accessKeyId: key.accessKeyId, secret: key.accessKeySecret, accountId, status: 'Active' },
      ROOT_ACCESS_KEY_LIMIT,
    );
    if (outcome === 'account-not-found') throw new ApiError('EntityNotExist.Account');
    if (outcome === 'limit-reached') throw new ApiError('LimitExceeded.Account.AccessKey');
    return { key, created: outcome };
  }

  async deleteAccessKey(caller: Caller, accountId: string, accessKeyId: string): Promise<void> {
    this.requireOperator(caller);
    this.refuseOperatorAccount(accountId);
    const outcome = await this.repo.deleteRootAccessKey(accountId, accessKeyId);
    if (outcome === 'account-not-found') throw new ApiError('EntityNotExist.Account');
    if (outcome === 'key-not-found') throw new ApiError('EntityNotExist.Account.AccessKey');
    this.onAccessKeysDeleted([accessKeyId]);
  }

  private requireOperator(caller: Caller): void {
    if (!isOperator(caller, this.operatorAccountId)) throw new ApiError('NoPermission');
  }

  /** The operator's key is the configuration's: changing it here would be undone by the next start. */
  private refuseOperatorAccount(accountId: string): void {
    if (accountId === this.operatorAccountId) throw new ApiError('Forbidden.OperatorAccount');
  }
}
