// ensnap's own API version: the data plane, which the ENS API (2017-11-10) does not have. Same
// protocol as every ENS action (RPC, signature v1 or V3, nonce, timestamp, JSON/XML envelopes).
export const ENSNAP_VERSION = '2026-11-01';

/** Byte offsets: whole numbers from 0 (the engine's range checks use the disk's own size). */
export const OFFSET_MAX = 2 ** 49;
