// RAM authorization of every call: an account's root may do anything; a RAM user only what the
// policies attached to it (directly or through its groups) allow, an explicit Deny winning.
// Policies are compiled once per user and kept while the account's IAM generation (a counter every
// RAM write bumps, in the same transaction) stays the same: one indexed read per call of a user.
import { ApiError } from '../../errors/catalog.js';
import type { Caller } from '../caller.js';
import { compilePolicy, evaluatePolicies, parsePolicyDocument, SYSTEM_POLICIES } from './policy.js';
import type { CompiledPolicy, Decision, RequestContext } from './policy.js';

/** A policy attached to a user, with the document of its default version (Custom ones). */
export interface AttachedPolicy {
  type: 'System' | 'Custom';
  name: string;
  document?: string;
}

export interface PermissionSource {
  /** Every policy attached to the user, directly or through any of its groups. */
  policiesForUser(accountId: string, userName: string): Promise<AttachedPolicy[]>;
  /** Changes with every write to the account's users, keys, groups, policies or attachments. */
  iamGeneration(accountId: string): Promise<number>;
}

/** What one request asks for, as the dispatcher knows it. */
export interface AccessRequest {
  /** The operation's RAM action, e.g. ens:CreateSnapshot. */
  action: string;
  /** The resource's id relative to the account (`disk/d-…`), or `*` when the call names none. */
  resource: string;
  sourceIp: string;
  secure: boolean;
  now: Date;
}

const SYSTEM = new Map(
  SYSTEM_POLICIES.map((p) => [p.name, compilePolicy(parsePolicyDocument(p.document))] as const),
);

interface CachedUser {
  /** The account's IAM generation the policies were read at. */
  generation: number;
  policies: Promise<CompiledPolicy[]>;
}

export class Authorizer {
  /** Compiled policies by account, then user. */
  private readonly cache = new Map<string, Map<string, CachedUser>>();

  constructor(private readonly source: PermissionSource) {}

  /** Resolves if the caller may make the request, else rejects with NoPermission. */
  async check(caller: Caller, request: AccessRequest): Promise<void> {
    if (caller.userName === undefined) return; // the account's root: never subject to policies
    const policies = await this.policiesOf(caller.accountId, caller.userName);
    const context: RequestContext = {
      action: request.action,
      resource: arn(request.action, caller.accountId, request.resource),
      sourceIp: request.sourceIp,
      currentTime: request.now,
      secureTransport: request.secure,
    };
    const decision = evaluatePolicies(policies, context);
    if (decision !== 'allow') throw denied(caller, request.action, decision);
  }

  private async policiesOf(accountId: string, userName: string): Promise<CompiledPolicy[]> {
    const generation = await this.source.iamGeneration(accountId);
    let users = this.cache.get(accountId);
    if (!users) this.cache.set(accountId, (users = new Map()));
    const cached = users.get(userName);
    if (cached && cached.generation === generation) return cached.policies;
    // Read at this generation or later: never older than what this call must see.
    const entry = { generation, policies: this.load(accountId, userName) };
    users.set(userName, entry);
    // A failed read is not kept: the next call tries again.
    entry.policies.catch(() => {
      if (users.get(userName) === entry) users.delete(userName);
    });
    return entry.policies;
  }

  private async load(accountId: string, userName: string): Promise<CompiledPolicy[]> {
    const out: CompiledPolicy[] = [];
    for (const attached of await this.source.policiesForUser(accountId, userName)) {
      if (attached.type === 'System') {
        const system = SYSTEM.get(attached.name);
        if (system) out.push(system);
      } else if (attached.document !== undefined) {
        // Validated when written; a document that no longer parses grants nothing.
        try {
          out.push(compilePolicy(parsePolicyDocument(attached.document)));
        } catch {
          continue;
        }
      }
    }
    return out;
  }
}

/** `acs:<service>:*:<account>:<relative id>`; the region segment is `*` (ENS resources span nodes). */
function arn(action: string, accountId: string, resource: string): string {
  const colon = action.indexOf(':');
  const service = colon > 0 ? action.slice(0, colon) : action;
  return `acs:${service}:*:${accountId}:${resource}`;
}

function denied(caller: Caller, action: string, decision: Exclude<Decision, 'allow'>): ApiError {
  const type = decision === 'explicit-deny' ? 'ExplicitDeny' : 'ImplicitDeny';
  const reason = decision === 'explicit-deny' ? 'an explicit deny in a policy' : 'no policy allows it';
  const error = new ApiError(
    'NoPermission',
    `RAM user ${caller.userName ?? ''} is not authorized to perform ${action} (${reason}).`,
  );
  error.accessDeniedDetail = {
    PolicyType: 'AccountLevelIdentityBasedPolicy',
    AuthPrincipalOwnerId: caller.accountId,
    AuthPrincipalType: 'SubUser',
    AuthPrincipalDisplayName: caller.userName ?? '',
    NoPermissionType: type,
    AuthAction: action,
  };
  return error;
}
