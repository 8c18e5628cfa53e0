// Who is calling: resolved by the protocol layer from the access key, passed to every domain call.
export interface Caller {
  accountId: string;
  accessKeyId: string;
}
