// Parameters of the account operations (the operator's, version 2026-11-01).
import { string } from '../spec.js';

/** 16 digits, as the service gives them out. */
export const accountId = () => string((value) => /^[0-9]{16}$/.test(value));

/** 1–64 characters: letters, digits, spaces, `.`, `_`, `-`; first a letter or digit. */
export const accountName = () => string((value) => /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(value));
