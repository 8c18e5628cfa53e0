// The one catalog of every error a client can see: code, HTTP status, message template.
// Nothing else in the codebase may invent a code, a status or a message for a client.
// `%s` in a code or message is filled from the error's arguments, in order.

export interface CatalogEntry {
  status: number;
  message: string;
  /** Where the code and message come from: the seed, the reference, or an ensnap choice. */
  source: 'seed' | 'reference' | 'ensnap';
}

export const ERROR_CATALOG = {
  // --- protocol: parameters, authentication, dispatch ---
  MissingParameter: {
    status: 400,
    message: 'The input parameter %s that is mandatory for processing this request is not supplied.',
    source: 'reference',
  },
  'InvalidParameter.%s': {
    status: 400,
    message: 'The specified field %s invalid. Please check it again.',
    source: 'seed',
  },
  SignatureDoesNotMatch: {
    status: 400,
    message: 'Specified signature is not matched with our calculation. server string to sign is:%s',
    source: 'reference',
  },
  IncompleteSignature: {
    status: 400,
    message: 'The request signature does not conform to Aliyun standards.',
    source: 'reference',
  },
  InvalidSignatureMethod: {
    status: 400,
    message: 'Specified signature method is not supported.',
    source: 'reference',
  },
  'InvalidAccessKeyId.NotFound': {
    status: 404,
    message: 'Specified access key is not found.',
    source: 'reference',
  },
  'InvalidAccessKeyId.Inactive': {
    status: 400,
    message: 'Specified access key is disabled.',
    source: 'reference',
  },
  SignatureNonceUsed: {
    status: 400,
    message: 'Specified signature nonce was used already.',
    source: 'reference',
  },
  'InvalidTimeStamp.Expired': {
    status: 400,
    message: 'Specified time stamp or date value is expired.',
    source: 'reference',
  },
  'InvalidTimeStamp.Format': {
    status: 400,
    message: 'Specified time stamp or date value is not well formatted.',
    source: 'reference',
  },
  'InvalidSecurityToken.Malformed': {
    status: 400,
    message: 'Specified SecurityToken is malformed; ensnap accepts AccessKey credentials only.',
    source: 'ensnap',
  },
  InvalidVersion: { status: 400, message: 'Specified parameter Version is not valid.', source: 'reference' },
  'InvalidAction.NotFound': {
    status: 404,
    message: 'Specified api is not found, please check your url and method.',
    source: 'reference',
  },
  UnsupportedHTTPMethod: {
    status: 400,
    message: 'Specified HTTP method %s is not supported.',
    source: 'ensnap',
  },
  'InvalidParameter.Body': {
    status: 413,
    message: 'The request body is larger than %s bytes.',
    source: 'ensnap',
  },
  'InvalidParameter.Encoding': {
    status: 400,
    message: 'The request could not be decoded: %s.',
    source: 'ensnap',
  },

  // --- ENS resources ---
  // The seed's message, then who may not do what (a RAM denial also carries AccessDeniedDetail).
  NoPermission: { status: 400, message: 'Permission denied. %s', source: 'seed' },
  DiskIdNotFound: {
    status: 400,
    message: 'The input parameter DiskId that is not found.',
    source: 'reference',
  },
  SnapshotIdNotFound: {
    status: 400,
    message: 'The input parameter SnapshotId that is not found.',
    source: 'reference',
  },
  INSTANCE_ID_NOT_FOUND: {
    status: 400,
    message: 'The input parameter instancdId that is not found.',
    source: 'reference',
  },
  'IncorrectStatus.Disk': {
    status: 400,
    message: 'The status of the disk is incorrect.',
    source: 'reference',
  },
  IncorrectInstanceStatus: {
    status: 400,
    message: 'The current status of the resource does not support this operation',
    source: 'reference',
  },

  // --- RAM (2015-05-01). Codes marked ensnap are the provider's published RAM codes and messages
  // that the reference does not list. ---
  'InvalidParameter.%s.Length': {
    status: 400,
    message: 'The parameter - "%s" beyond the length limit.',
    source: 'reference',
  },
  'InvalidParameter.%s.InvalidChars': {
    status: 400,
    message: 'The parameter - "%s" contains invalid chars.',
    source: 'reference',
  },
  'InvalidParameter.%s.Format': {
    status: 400,
    message: 'The format of the parameter - "%s" is incorrect.',
    source: 'reference',
  },
  MalformedPolicyDocument: {
    status: 400,
    message: 'The policy document is malformed: %s.',
    source: 'reference',
  },
  'EntityNotExist.User': { status: 404, message: 'The user does not exist.', source: 'reference' },
  'EntityNotExist.Group': { status: 404, message: 'The group does not exist.', source: 'ensnap' },
  'EntityNotExist.Policy': { status: 404, message: 'The policy does not exist.', source: 'reference' },
  'EntityNotExist.Policy.Version': {
    status: 404,
    message: 'The policy version does not exist.',
    source: 'ensnap',
  },
  'EntityNotExist.User.AccessKey': {
    status: 404,
    message: 'The user access key does not exist.',
    source: 'ensnap',
  },
  'EntityNotExist.User.Policy': {
    status: 404,
    message: 'The indicate policy of the user does not exist.',
    source: 'reference',
  },
  'EntityNotExist.Group.Policy': {
    status: 404,
    message: 'The indicate policy attached to the group does not exist.',
    source: 'ensnap',
  },
  'EntityNotExist.User.Group': {
    status: 404,
    message: 'The user has not joined the group.',
    source: 'ensnap',
  },
  'EntityAlreadyExists.User': { status: 409, message: 'The user does already EXIST.', source: 'reference' },
  'EntityAlreadyExists.Group': { status: 409, message: 'The group does already EXIST.', source: 'ensnap' },
  'EntityAlreadyExists.Policy': {
    status: 409,
    message: 'The policy does already EXIST.',
    source: 'reference',
  },
  'EntityAlreadyExists.User.Policy': {
    status: 409,
    message: 'The user has already been attached this policy.',
    source: 'reference',
  },
  'EntityAlreadyExists.Group.Policy': {
    status: 409,
    message: 'The group has already been attached this policy.',
    source: 'ensnap',
  },
  'EntityAlreadyExists.User.Group': {
    status: 409,
    message: 'The user has already joined the group.',
    source: 'ensnap',
  },
  'DeleteConflict.User.AccessKey': {
    status: 409,
    message: 'The user CAN NOT has any access key while deleting the user.',
    source: 'reference',
  },
  'DeleteConflict.User.Policy': {
    status: 409,
    message: 'The user CAN NOT has any attached policy while deleting the user.',
    source: 'reference',
  },
  'DeleteConflict.User.Group': {
    status: 409,
    message: 'The user CAN NOT be in any group while deleting the user.',
    source: 'reference',
  },
  'DeleteConflict.Group.User': {
    status: 409,
    message: 'The group CAN NOT has any user member while deleting the group.',
    source: 'ensnap',
  },
  'DeleteConflict.Group.Policy': {
    status: 409,
    message: 'The entity CAN NOT has any attached policy while deleting the group.',
    source: 'ensnap',
  },
  'DeleteConflict.Policy.User': {
    status: 409,
    message: 'The policy CAN NOT been attached to any user while deleting the policy.',
    source: 'ensnap',
  },
  'DeleteConflict.Policy.Group': {
    status: 409,
    message: 'The policy CAN NOT been attached to any group while deleting the policy.',
    source: 'ensnap',
  },
  'LimitExceeded.User.AccessKey': {
    status: 409,
    message: 'The access key count of the user access keys beyond the current limits.',
    source: 'reference',
  },
  'LimitExceeded.User.Group': {
    status: 409,
    message: 'The count of groups the target user joined beyond the current limits.',
    source: 'ensnap',
  },
  'LimitExceeded.User.Policy': {
    status: 409,
    message: 'The policy count of the user attached policies beyond the current limits.',
    source: 'ensnap',
  },
  'LimitExceeded.Group.Policy': {
    status: 409,
    message: 'The policy count of the group beyond the current limits.',
    source: 'ensnap',
  },
  'LimitExceeded.Policy.Version': {
    status: 409,
    message: 'The count of policy version beyond the current limits.',
    source: 'ensnap',
  },

  // --- the data plane (ensnap's own API version) ---
  ContentSha256Mismatch: {
    status: 400,
    message:
      'The request body does not match its SHA-256 (ContentSha256); nothing was written. Send the body again.',
    source: 'ensnap',
  },

  // --- accounts (ensnap's API version; the operator's actions) ---
  'EntityNotExist.Account': {
    status: 404,
    message: 'The account does not exist.',
    source: 'ensnap',
  },
  'EntityNotExist.Account.AccessKey': {
    status: 404,
    message: 'The AccessKey is not a root AccessKey of this account.',
    source: 'ensnap',
  },
  'DeleteConflict.Account.Resource': {
    status: 409,
    message:
      'The account still holds %s disk(s) and %s snapshot(s); delete them before deleting the account.',
    source: 'ensnap',
  },
  'LimitExceeded.Account.AccessKey': {
    status: 409,
    message: 'An account has at most 2 root AccessKeys; delete one before creating another.',
    source: 'ensnap',
  },
  'Forbidden.OperatorAccount': {
    status: 400,
    message:
      "The operator's account cannot be deleted, and its AccessKey is set by the service's configuration (ENSNAP_ROOT_ACCESS_KEY_ID / ENSNAP_ROOT_ACCESS_KEY_SECRET), not through the API.",
    source: 'ensnap',
  },

  // --- fault injection (ensnap's API version; the operator's actions) ---
  FaultInjectionDisabled: {
    status: 400,
    message:
      'Fault injection is switched off on this server (ENSNAP_FAULTS=off): fault rules cannot be added, listed or cleared.',
    source: 'ensnap',
  },

  // --- the service itself (never a client's mistake) ---
  InternalError: {
    status: 500,
    message: 'The request processing has failed due to some unknown error.',
    source: 'reference',
  },
  StoredDataDamaged: {
    status: 500,
    message:
      'Stored data this request needs is damaged or missing, so nothing was returned. The operator can locate the damage with `ensnap verify`.',
    source: 'ensnap',
  },
  StorageFull: {
    status: 507,
    message:
      'The storage of the service is full, so the request was not completed. Retry once the operator has freed space.',
    source: 'ensnap',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorKey = keyof typeof ERROR_CATALOG;

/** A client-visible error. Only constructible from a catalog key. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly key: ErrorKey;
  /** On a RAM denial: the envelope's AccessDeniedDetail (which action, explicit or implicit deny). */
  accessDeniedDetail?: Record<string, string>;

  constructor(key: ErrorKey, ...args: string[]) {
    const entry: CatalogEntry = ERROR_CATALOG[key];
    // A templated code (InvalidParameter.%s) and its message take the same argument (the field name).
    super(fill(entry.message, args));
    this.name = 'ApiError';
    this.key = key;
    this.code = fill(key, args);
    this.status = entry.status;
  }
}

function fill(template: string, args: readonly string[]): string {
  let i = 0;
  return template.replace(/%s/g, () => args[i++] ?? '');
}

/** Shorthand for the seed's `InvalidParameter.<Field>` error. */
export function invalidParameter(field: string): ApiError {
  return new ApiError('InvalidParameter.%s', field);
}

export function missingParameter(field: string): ApiError {
  return new ApiError('MissingParameter', field);
}

/** Out of space, as the file system (ENOSPC, EDQUOT) or SQLite (SQLITE_FULL) says it. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/**
 * What the client is told of an error that is not an ApiError: StorageFull when the data
 * directory ran out of space (anywhere in the cause chain), else InternalError. Either way the
 * internals stay in the log.
 */
export function apiErrorForUnexpected(thrown: unknown): ApiError {
  for (let e: unknown = thrown, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (FULL_CODES.has(String((e as NodeJS.ErrnoException).code))) return new ApiError('StorageFull');
  }
  return new ApiError('InternalError');
}
