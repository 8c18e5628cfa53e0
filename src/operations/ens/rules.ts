// Field rules of the ENS API, exactly as the seed and the reference state them, with the choices
// the documents leave open written down here and in docs/api.md:
// - length counts characters (code points), not bytes or UTF-16 units;
// - "a letter" is any Unicode letter (the newer docs: "letter or Chinese character");
// - the http:// and https:// prefixes are refused in any letter case;
// - the reserved `auto` prefix (ModifySnapshotAttribute) is refused in lower case only, as written.

const URL_PREFIX = /^https?:\/\//i;
const length = (value: string): number => [...value].length;

/** SnapshotName: 2–128 characters, starts with a letter, letters, digits, `:`, `_`, `-`. */
export function isValidSnapshotName(value: string): boolean {
  const n = length(value);
  if (n < 2 || n > 128) return false;
  if (URL_PREFIX.test(value)) return false;
  return /^\p{L}[\p{L}\p{N}:_-]*$/u.test(value);
}

/** ModifySnapshotAttribute's SnapshotName: the same, and not starting with `auto`. */
export function isValidNewSnapshotName(value: string): boolean {
  return isValidSnapshotName(value) && !value.startsWith('auto');
}

/** Description: 2–256 characters, does not start with http:// or https://. */
export function isValidDescription(value: string): boolean {
  const n = length(value);
  return n >= 2 && n <= 256 && !URL_PREFIX.test(value);
}

/** DiskName: the reference gives no rule of its own; the snapshot-name rule (ECS's disk-name rule). */
export const isValidDiskName = isValidSnapshotName;

const RESERVED_TAG_PREFIX = /^(aliyun|acs:|https?:\/\/)/i;

/** Tag key: 1–64 characters, not starting with aliyun, acs:, http://, https://. */
export function isValidTagKey(key: string): boolean {
  const n = length(key);
  return n >= 1 && n <= 64 && !RESERVED_TAG_PREFIX.test(key);
}

/** Tag value: up to 128 characters, not starting with aliyun or acs:, containing no http(s)://. */
export function isValidTagValue(value: string): boolean {
  return length(value) <= 128 && !/^(aliyun|acs:)/i.test(value) && !/https?:\/\//i.test(value);
}

/** CreateDisk Size in GiB: the reference recommends ECS's 20–32768 for cloud disks. */
export const DISK_SIZE_GIB = { min: 20, max: 32768 } as const;
