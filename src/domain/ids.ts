// Resource identifiers in the forms the reference gives: d-<25>, s-<20> (seed) or sp-<24>
// (current SDKs), 15-digit order ids, upper-case UUID request ids; for RAM, 16-digit user ids,
// g-<16> group ids; AccessKeys as the cloud's long-term ones look (LTAI + 20 letters and digits,
// a 30-character secret).
import { randomBytes, randomUUID } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED_CASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DIGITS = '0123456789';

// CSPRNG bytes are drawn 4 KiB at a time and each is used once: one randomBytes call for about
// 150 ids instead of one per id.
let entropy = Buffer.alloc(0);
let entropyUsed = 0;

function randomByte(): number {
  if (entropyUsed === entropy.length) {
    entropy = randomBytes(4096);
    entropyUsed = 0;
  }
  return entropy[entropyUsed++] as number;
}

/** `length` characters of `alphabet`, each equally likely. */
function randomSuffix(length: number, alphabet = ALPHABET): string {
  // Rejection sampling: bytes past the largest multiple of the alphabet's size are skipped.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < limit) out += alphabet[byte % alphabet.length];
  }
  return out;
}

export type IdProfile = 'seed' | 'current';

export const newDiskId = (): string => 'd-' + randomSuffix(25);
// Snapshot ids begin with the creation time: 8 base-36 digits of the millisecond clock (fixed width,
// digits before letters as in ASCII, so ids sort by creation until the year 2059), then random
// characters (12 in the seed's form: 62 bits; 16 in the current form: 83 bits). Same alphabet and
// length as before; new ids are appended at the end of the primary-key index instead of landing
// on a random page of it, which keeps the pages a CreateSnapshot commit writes few.
const timePrefix = (nowMs: number): string => nowMs.toString(36).padStart(8, '0').slice(-8);
export const newSnapshotId = (profile: IdProfile, nowMs: number = Date.now()): string =>
  profile === 'seed'
    ? 's-' + timePrefix(nowMs) + randomSuffix(12)
    : 'sp-' + timePrefix(nowMs) + randomSuffix(16);
export const newRequestId = (): string => randomUUID().toUpperCase();

/** 16 digits, not starting with 0 (RAM's UserId looks like `122748924538****`). */
export const newUserId = (): string => randomSuffix(1, DIGITS.slice(1)) + randomSuffix(15, DIGITS);
export const newGroupId = (): string => 'g-' + randomSuffix(16, MIXED_CASE);
export const newAccessKeyId = (): string => 'LTAI' + randomSuffix(20, MIXED_CASE);
/** 30 characters of 62: about 178 bits. */
export const newAccessKeySecret = (): string => randomSuffix(30, MIXED_CASE);

let lastOrderMs = 0;
let orderSeq = 0;
/** 15 digits: the millisecond clock and a two-digit sequence, unique within one process. */
export function newOrderId(nowMs: number = Date.now()): string {
  if (nowMs > lastOrderMs) {
    lastOrderMs = nowMs;
    orderSeq = 0;
  } else if (++orderSeq > 99) {
    lastOrderMs += 1;
    orderSeq = 0;
  }
  return String(lastOrderMs * 100 + orderSeq);
}
