// Who is calling: resolved by the protocol layer from the access key, passed to every domain call.
export interface Caller {
  accountId: string;
  accessKeyId: string;
  /** The RAM user the key belongs to; undefined for the account's root (never subject to policies). */
  userName?: string;
}
