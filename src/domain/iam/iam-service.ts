// RAM: users, their access keys, groups, custom policies and their versions, and which policies
// are attached to whom, within the caller's account. The repository checks each condition inside
// the write's transaction; this service turns its outcomes into the API's errors, pages lists
// with RAM's Marker, and tells the authenticator's key cache which keys changed.
import { ApiError } from '../../errors/catalog.js';
import type { Caller } from '../caller.js';
import { newAccessKeyId, newAccessKeySecret, newGroupId, newUserId } from '../ids.js';
import type { AccessKey } from '../model.js';
import type { MembershipOutcome, MetadataRepository, PolicyHolder, UserChange } from '../ports.js';
import type {
  AccessKeyInfo,
  AccessKeyStatus,
  Membership,
  PolicyEntities,
  PolicyRef,
  PolicyType,
  PolicyVersion,
  RamGroup,
  RamUser,
} from './model.js';
import { parsePolicyDocument, SYSTEM_POLICIES } from './policy.js';

/** RAM's quotas as ensnap applies them (docs/api.md says where they come from). */
const RAM_LIMITS = {
  accessKeysPerOwner: 2,
  versionsPerPolicy: 5,
  groupsPerUser: 5,
  /** System policies, and separately Custom ones, attached to one user or group. */
  policiesPerHolderAndType: 20,
} as const;

/** When the built-in policies count as created and updated: the ENS API's version date. */
const SYSTEM_POLICY_DATE_MS = Date.UTC(2017, 10, 10);

/** One page of a list; `marker` (present when more follow) is where the next page starts. */
export interface ListPage<T> {
  items: T[];
  marker?: string;
}

/** A System or Custom policy as GetPolicy and ListPolicies show it. */
export interface PolicyView extends PolicyRef {
  description: string;
  defaultVersion: number;
  createdMs: number;
  updatedMs: number;
  attachmentCount: number;
}

export interface NewUser {
  userName: string;
  displayName?: string;
  mobilePhone?: string;
  email?: string;
  comments?: string;
}

export class IamService {
  constructor(
    private readonly repo: MetadataRepository,
    /** Drops keys from the authenticator's cache once their change is committed. */
    private readonly forgetKeys: (accessKeyIds: readonly string[]) => void,
  ) {}

  // --- users ---

  async createUser(caller: Caller, input: NewUser): Promise<RamUser> {
    const now = Date.now();
    const user: RamUser = {
      accountId: caller.accountId,
      userName: input.userName,
      userId: newUserId(),
      displayName: input.displayName ?? '',
      mobilePhone: input.mobilePhone ?? '',
      email: input.email ?? '',
      comments: input.comments ?? '',
      createdMs: now,
      updatedMs: now,
    };
    if ((await this.repo.createUser(user)) === 'exists') throw new ApiError('EntityAlreadyExists.User');
    return user;
  }

  async getUser(caller: Caller, userName: string): Promise<RamUser> {
    const user = await this.repo.getUser(caller.accountId, userName);
    if (!user) throw new ApiError('EntityNotExist.User');
    return user;
  }

  async listUsers(caller: Caller, marker: string | undefined, maxItems: number): Promise<ListPage<RamUser>> {
    const after = marker === undefined ? undefined : readMarker(marker);
    const users = await this.repo.listUsers(caller.accountId, after, maxItems + 1);
    return pageOf(users, maxItems, (u) => u.userName);
  }

  async updateUser(caller: Caller, userName: string, change: UserChange): Promise<RamUser> {
    const outcome = await this.repo.updateUser(caller.accountId, userName, change, Date.now());
    if (outcome === 'not-found') throw new ApiError('EntityNotExist.User');
    if (outcome === 'name-taken') throw new ApiError('EntityAlreadyExists.User');
    if (outcome.userName !== userName) {
      // Cached keys still name the old user.
      const keys = await this.repo.listAccessKeys(caller.accountId, outcome.userName);
      this.forgetKeys(keys.map((k) => k.accessKeyId));
    }
    return outcome;
  }

  async deleteUser(caller: Caller, userName: string): Promise<void> {
    const outcome = await this.repo.deleteUser(caller.accountId, userName);
    if (outcome === 'not-found') throw new ApiError('EntityNotExist.User');
    if (outcome === 'has-access-keys') throw new ApiError('DeleteConflict.User.AccessKey');
    if (outcome === 'has-policies') throw new ApiError('DeleteConflict.User.Policy');
    if (outcome === 'in-groups') throw new ApiError('DeleteConflict.User.Group');
  }

  // --- access keys: without a UserName, the caller's own (a RAM user's, or the root's) ---

  async createAccessKey(
    caller: Caller,
    userName: string | undefined,
  ): Promise<{ key: AccessKey; createdMs: number }> {
    const key: AccessKey = {
      accessKeyId: newAccessKeyId(),
      secret: newAccessKeySecret(),
      accountId: caller.accountId,
      status: 'Active',
      userName: userName ?? caller.userName,
    };
    const createdMs = Date.now();
    const outcome = await this.repo.createAccessKey(key, createdMs, RAM_LIMITS.accessKeysPerOwner);
    if (outcome === 'user-not-found') throw new ApiError('EntityNotExist.User');
    if (outcome === 'limit-exceeded') throw new ApiError('LimitExceeded.User.AccessKey');
    return { key, createdMs };
  }

  async listAccessKeys(caller: Caller, userName: string | undefined): Promise<AccessKeyInfo[]> {
    if (userName !== undefined) await this.getUser(caller, userName);
    return this.repo.listAccessKeys(caller.accountId, userName ?? caller.userName);
  }

  async updateAccessKey(
    caller: Caller,
    userName: string | undefined,
    accessKeyId: string,
    status: AccessKeyStatus,
  ): Promise<void> {
    const owner = userName ?? caller.userName;
    keyOutcome(await this.repo.setAccessKeyStatus(caller.accountId, owner, accessKeyId, status));
    this.forgetKeys([accessKeyId]);
  }

  async deleteAccessKey(caller: Caller, userName: string | undefined, accessKeyId: string): Promise<void> {
    const owner = userName ?? caller.userName;
    keyOutcome(await this.repo.deleteAccessKey(caller.accountId, owner, accessKeyId));
    this.forgetKeys([accessKeyId]);
  }

  // --- groups ---

  async createGroup(caller: Caller, groupName: string, comments: string | undefined): Promise<RamGroup> {
    const now = Date.now();
    const group: RamGroup = {
      accountId: caller.accountId,
      groupName,
      groupId: newGroupId(),
      comments: comments ?? '',
      createdMs: now,
      updatedMs: now,
    };
    if ((await this.repo.createGroup(group)) === 'exists') throw new ApiError('EntityAlreadyExists.Group');
    return group;
  }

  async listGroups(
    caller: Caller,
    marker: string | undefined,
    maxItems: number,
  ): Promise<ListPage<RamGroup>> {
    const after = marker === undefined ? undefined : readMarker(marker);
    const groups = await this.repo.listGroups(caller.accountId, after, maxItems + 1);
    return pageOf(groups, maxItems, (g) => g.groupName);
  }

  async deleteGroup(caller: Caller, groupName: string): Promise<void> {
    const outcome = await this.repo.deleteGroup(caller.accountId, groupName);
    if (outcome === 'not-found') throw new ApiError('EntityNotExist.Group');
    if (outcome === 'has-users') throw new ApiError('DeleteConflict.Group.User');
    if (outcome === 'has-policies') throw new ApiError('DeleteConflict.Group.Policy');
  }

  async addUserToGroup(caller: Caller, groupName: string, userName: string): Promise<void> {
    const outcome = await this.repo.addUserToGroup(
      caller.accountId,
      groupName,
      userName,
      Date.now(),
      RAM_LIMITS.groupsPerUser,
    );
    membershipOutcome(outcome);
  }

  async removeUserFromGroup(caller: Caller, groupName: string, userName: string): Promise<void> {
    membershipOutcome(await this.repo.removeUserFromGroup(caller.accountId, groupName, userName));
  }

  async listGroupsForUser(caller: Caller, userName: string): Promise<Membership[]> {
    await this.getUser(caller, userName);
    return this.repo.listGroupsForUser(caller.accountId, userName);
  }

  // --- policies ---

  async createPolicy(
    caller: Caller,
    input: { policyName: string; document: string; description?: string },
  ): Promise<PolicyView> {
    parsePolicyDocument(input.document);
    if (systemPolicy(input.policyName)) throw new ApiError('EntityAlreadyExists.Policy');
    const now = Date.now();
    const policy = {
      accountId: caller.accountId,
      policyName: input.policyName,
      description: input.description ?? '',
      defaultVersion: 1,
      createdMs: now,
      updatedMs: now,
    };
    if ((await this.repo.createPolicy(policy, input.document)) === 'exists')
      throw new ApiError('EntityAlreadyExists.Policy');
    return {
      type: 'Custom',
      name: policy.policyName,
      description: policy.description,
      defaultVersion: policy.defaultVersion,
      createdMs: now,
      updatedMs: now,
      attachmentCount: 0,
    };
  }

  /** The policy and its default version. */
  async getPolicy(caller: Caller, ref: PolicyRef): Promise<{ policy: PolicyView; version: PolicyVersion }> {
    const policy = await this.policyView(caller, ref);
    const versions = await this.listPolicyVersions(caller, ref);
    const version = versions.find((v) => v.isDefault) as PolicyVersion;
    return { policy, version };
  }

  /** System policies first, then Custom ones, each by name; `type` keeps one kind. */
  async listPolicies(
    caller: Caller,
    type: PolicyType | undefined,
    marker: string | undefined,
    maxItems: number,
  ): Promise<ListPage<PolicyView>> {
    // The marker is `<type>:<name>` of the last policy shown.
    const after = marker === undefined ? undefined : /^(System|Custom):(.+)$/.exec(readMarker(marker));
    if (after === null) throw new ApiError('InvalidParameter.%s', 'Marker');
    const afterType = after?.[1];
    const afterName = after?.[2];
    const refs: PolicyRef[] = [];
    if (type !== 'Custom' && afterType !== 'Custom') {
      for (const p of SYSTEM_BY_NAME) {
        if (afterType === 'System' && p.name <= (afterName as string)) continue;
        refs.push({ type: 'System', name: p.name });
      }
    }
    if (type !== 'System' && refs.length <= maxItems) {
      const custom = await this.repo.listPolicies(
        caller.accountId,
        afterType === 'Custom' ? afterName : undefined,
        maxItems + 1 - refs.length,
      );
      refs.push(...custom.map((p): PolicyRef => ({ type: 'Custom', name: p.policyName })));
    }
    const page = pageOf(refs, maxItems, (r) => `${r.type}:${r.name}`);
    return { ...page, items: await Promise.all(page.items.map((ref) => this.policyView(caller, ref))) };
  }

  async deletePolicy(caller: Caller, policyName: string, cascade: boolean): Promise<void> {
    const outcome = await this.repo.deletePolicy(caller.accountId, policyName, cascade);
    if (outcome === 'not-found') throw new ApiError('EntityNotExist.Policy');
    if (outcome === 'attached-to-users') throw new ApiError('DeleteConflict.Policy.User');
    if (outcome === 'attached-to-groups') throw new ApiError('DeleteConflict.Policy.Group');
  }

  async createPolicyVersion(
    caller: Caller,
    policyName: string,
    document: string,
    options: { setAsDefault: boolean; rotate: boolean },
  ): Promise<PolicyVersion> {
    parsePolicyDocument(document);
    const outcome = await this.repo.createPolicyVersion(caller.accountId, policyName, document, {
      ...options,
      maxVersions: RAM_LIMITS.versionsPerPolicy,
      nowMs: Date.now(),
    });
    if (outcome === 'not-found') throw new ApiError('EntityNotExist.Policy');
    if (outcome === 'limit-exceeded') throw new ApiError('LimitExceeded.Policy.Version');
    return outcome;
  }

  async setDefaultPolicyVersion(caller: Caller, policyName: string, version: number): Promise<void> {
    const outcome = await this.repo.setDefaultPolicyVersion(
      caller.accountId,
      policyName,
      version,
      Date.now(),
    );
    if (outcome === 'policy-not-found') throw new ApiError('EntityNotExist.Policy');
    if (outcome === 'version-not-found') throw new ApiError('EntityNotExist.Policy.Version');
  }

  async listPolicyVersions(caller: Caller, ref: PolicyRef): Promise<PolicyVersion[]> {
    if (ref.type === 'System') {
      const system = systemPolicy(ref.name);
      if (!system) throw new ApiError('EntityNotExist.Policy');
      return [{ version: 1, document: system.document, createdMs: SYSTEM_POLICY_DATE_MS, isDefault: true }];
    }
    const versions = await this.repo.listPolicyVersions(caller.accountId, ref.name);
    if (versions.length === 0) throw new ApiError('EntityNotExist.Policy');
    return versions;
  }

  // --- attachments ---

  async attachPolicy(caller: Caller, holder: PolicyHolder, ref: PolicyRef): Promise<void> {
    if (ref.type === 'System' && !systemPolicy(ref.name)) throw new ApiError('EntityNotExist.Policy');
    const outcome = await this.repo.attachPolicy(
      caller.accountId,
      holder,
      ref,
      Date.now(),
      RAM_LIMITS.policiesPerHolderAndType,
    );
    const user = holder.kind === 'user';
    if (outcome === 'holder-not-found')
      throw new ApiError(user ? 'EntityNotExist.User' : 'EntityNotExist.Group');
    if (outcome === 'policy-not-found') throw new ApiError('EntityNotExist.Policy');
    if (outcome === 'already-attached')
      throw new ApiError(user ? 'EntityAlreadyExists.User.Policy' : 'EntityAlreadyExists.Group.Policy');
    if (outcome === 'limit-exceeded')
      throw new ApiError(user ? 'LimitExceeded.User.Policy' : 'LimitExceeded.Group.Policy');
  }

  async detachPolicy(caller: Caller, holder: PolicyHolder, ref: PolicyRef): Promise<void> {
    if (ref.type === 'System' && !systemPolicy(ref.name)) throw new ApiError('EntityNotExist.Policy');
    const outcome = await this.repo.detachPolicy(caller.accountId, holder, ref);
    const user = holder.kind === 'user';
    if (outcome === 'holder-not-found')
      throw new ApiError(user ? 'EntityNotExist.User' : 'EntityNotExist.Group');
    if (outcome === 'policy-not-found') throw new ApiError('EntityNotExist.Policy');
    if (outcome === 'not-attached')
      throw new ApiError(user ? 'EntityNotExist.User.Policy' : 'EntityNotExist.Group.Policy');
  }

  /** The policies attached to the user itself (not through its groups), with when. */
  async listPoliciesForUser(
    caller: Caller,
    userName: string,
  ): Promise<(PolicyView & { attachedMs: number })[]> {
    await this.getUser(caller, userName);
    const attachments = await this.repo.listAttachments(caller.accountId, { kind: 'user', name: userName });
    return Promise.all(
      attachments.map(async (a) => ({ ...(await this.policyView(caller, a)), attachedMs: a.attachedMs })),
    );
  }

  async listEntitiesForPolicy(caller: Caller, ref: PolicyRef): Promise<PolicyEntities> {
    await this.policyView(caller, ref);
    return this.repo.listPolicyEntities(caller.accountId, ref);
  }

  /** A System or Custom policy of the caller's account, or EntityNotExist.Policy. */
  private async policyView(caller: Caller, ref: PolicyRef): Promise<PolicyView> {
    const attachmentCount = () => this.repo.countAttachments(caller.accountId, ref);
    if (ref.type === 'System') {
      const system = systemPolicy(ref.name);
      if (!system) throw new ApiError('EntityNotExist.Policy');
      return {
        ...ref,
        description: system.description,
        defaultVersion: 1,
        createdMs: SYSTEM_POLICY_DATE_MS,
        updatedMs: SYSTEM_POLICY_DATE_MS,
        attachmentCount: await attachmentCount(),
      };
    }
    const policy = await this.repo.getPolicy(caller.accountId, ref.name);
    if (!policy) throw new ApiError('EntityNotExist.Policy');
    return {
      ...ref,
      description: policy.description,
      defaultVersion: policy.defaultVersion,
      createdMs: policy.createdMs,
      updatedMs: policy.updatedMs,
      attachmentCount: await attachmentCount(),
    };
  }
}

/** The built-in policies in list order (by name), which the Marker relies on. */
const SYSTEM_BY_NAME = [...SYSTEM_POLICIES].sort((a, b) => (a.name < b.name ? -1 : 1));
const systemPolicy = (name: string) => SYSTEM_POLICIES.find((p) => p.name === name);

function keyOutcome(outcome: 'ok' | 'user-not-found' | 'key-not-found'): void {
  if (outcome === 'user-not-found') throw new ApiError('EntityNotExist.User');
  if (outcome === 'key-not-found') throw new ApiError('EntityNotExist.User.AccessKey');
}

function membershipOutcome(outcome: MembershipOutcome | 'limit-exceeded'): void {
  if (outcome === 'user-not-found') throw new ApiError('EntityNotExist.User');
  if (outcome === 'group-not-found') throw new ApiError('EntityNotExist.Group');
  if (outcome === 'already-member') throw new ApiError('EntityAlreadyExists.User.Group');
  if (outcome === 'not-member') throw new ApiError('EntityNotExist.User.Group');
  if (outcome === 'limit-exceeded') throw new ApiError('LimitExceeded.User.Group');
}

// A Marker is the key of the last item shown (a name), base64url-encoded so that clients treat it
// as opaque; the next page starts after it.
const writeMarker = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

function readMarker(marker: string): string {
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (key === '' || writeMarker(key) !== marker) throw new ApiError('InvalidParameter.%s', 'Marker');
  return key;
}

/** `items` holds up to maxItems + 1: the extra one only says that the list goes on. */
function pageOf<T>(items: T[], maxItems: number, keyOf: (item: T) => string): ListPage<T> {
  if (items.length <= maxItems) return { items };
  const shown = items.slice(0, maxItems);
  return { items: shown, marker: writeMarker(keyOf(shown[shown.length - 1] as T)) };
}
