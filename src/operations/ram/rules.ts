// Parameter rules of the RAM API, with RAM's own error codes (`InvalidParameter.<Name>.Length`,
// `.InvalidChars`, `.Format`) instead of the seed's `InvalidParameter.<Name>`. Lengths count
// characters (code points), as the ENS rules do.
import { ApiError } from '../../errors/catalog.js';
import { oneOf, scalar, type Param } from '../spec.js';

const length = (value: string): number => [...value].length;

function text(type: string, max: number, chars?: RegExp): Param<string, false> {
  return scalar(type, (raw, name) => {
    if (length(raw) > max) throw new ApiError('InvalidParameter.%s.Length', name);
    if (chars && !chars.test(raw)) throw new ApiError('InvalidParameter.%s.InvalidChars', name);
    return raw;
  });
}

function formatted(type: string, pattern: RegExp): Param<string, false> {
  return scalar(type, (raw, name) => {
    if (!pattern.test(raw)) throw new ApiError('InvalidParameter.%s.Format', name);
    return raw;
  });
}

/** UserName / NewUserName: 1–64 letters, digits, `.`, `-`, `_`. */
export const userName = () => text('string (1–64: letters, digits, . - _)', 64, /^[A-Za-z0-9._-]+$/);
/** DisplayName: 1–128 letters (any script), digits, `@`, `.`, `-`, `_`. */
export const displayName = () =>
  text('string (1–128: letters, digits, @ . - _)', 128, /^[\p{L}\p{N}@._-]+$/u);
export const comments = () => text('string (1–128)', 128);
/** `<country code>-<number>`, e.g. 86-18600008888. */
export const mobilePhone = () => formatted('string (86-1860000xxxx)', /^[0-9]{1,4}-[0-9]{4,20}$/);
export const email = () => formatted('string (email address)', /^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$/);
/** GroupName: 1–64 letters, digits, `.`, `-`, `_`. */
export const groupName = () => text('string (1–64: letters, digits, . - _)', 64, /^[A-Za-z0-9._-]+$/);
/** PolicyName: 1–128 letters, digits, `-`. */
export const policyName = () => text('string (1–128: letters, digits, -)', 128, /^[A-Za-z0-9-]+$/);
export const policyDocument = () => text('string (JSON policy document, 1–6144)', 6144);
export const policyDescription = () => text('string (1–1024)', 1024);
export const policyType = () => oneOf(['System', 'Custom'] as const);
export const keyStatus = () => oneOf(['Active', 'Inactive'] as const);

/** VersionId `v<n>`, read as n. */
export const versionId = (): Param<number, false> =>
  scalar('string (v1, v2, …)', (raw, name) => {
    const m = /^v([1-9][0-9]{0,8})$/.exec(raw);
    if (!m) throw new ApiError('InvalidParameter.%s.Format', name);
    return Number(m[1]);
  });
