// Who is calling: resolved by the protocol layer from the access key, passed to every domain call.
export interface Caller {
  accountId: string;
  accessKeyId: string;
  /** The RAM user the key belongs to; undefined for the account's root (never subject to policies). */
  userName?: string;
}

/**
 * The deployment's operator: the root of the first account (whose key the service's configuration
 * sets), never a RAM user. Only the operator manages accounts and checks the whole store.
 */
export function isOperator(caller: Caller, operatorAccountId: string): boolean {
  return caller.accountId === operatorAccountId && caller.userName === undefined;
}
