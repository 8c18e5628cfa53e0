// Parameters of the account operations (the operator's, version 2026-11-01).
import { invalidParameter } from '../../errors/catalog.js';
import { scalar, string } from '../spec.js';

/** 16 digits, as the service gives them out. */
export const accountId = () => string((value) => /^[0-9]{16}$/.test(value));

/** 1–64 characters: letters, digits, spaces, `.`, `_`, `-`; first a letter or digit. */
export const accountName = () => string((value) => /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(value));

/** An amount of money in currency units: up to 9 digits, and up to 2 after the point. */
export const amount = () =>
  scalar('decimal (0–999999999.99)', (raw, name) => {
    if (!/^[0-9]{1,9}(\.[0-9]{1,2})?$/.test(raw)) throw invalidParameter(name);
    return Number(raw);
  });
