// The records of RAM (users, groups, custom policies, access keys), independent of SQL and HTTP.
// Users and groups are known by name within their account, as the RAM API names them.

export type PolicyType = 'System' | 'Custom';
export type AccessKeyStatus = 'Active' | 'Inactive';

export interface RamUser {
  accountId: string;
  userName: string;
  /** 16 digits. */
  userId: string;
  displayName: string;
  mobilePhone: string;
  email: string;
  comments: string;
  createdMs: number;
  updatedMs: number;
}

export interface RamGroup {
  accountId: string;
  groupName: string;
  groupId: string;
  comments: string;
  createdMs: number;
  updatedMs: number;
}

export interface CustomPolicy {
  accountId: string;
  policyName: string;
  description: string;
  /** The default version's number (VersionId `v<n>`). */
  defaultVersion: number;
  createdMs: number;
  updatedMs: number;
}

export interface PolicyVersion {
  version: number;
  document: string;
  createdMs: number;
  isDefault: boolean;
}

/** An access key without its secret, as the listings show it. */
export interface AccessKeyInfo {
  accessKeyId: string;
  status: AccessKeyStatus;
  createdMs: number;
}

export interface PolicyRef {
  type: PolicyType;
  name: string;
}

/** A policy attached to a user or group, with what the listings show of it. */
export interface Attachment extends PolicyRef {
  attachedMs: number;
}

/** The users and groups a policy is attached to. */
export interface PolicyEntities {
  users: { userName: string; userId: string; displayName: string; attachedMs: number }[];
  groups: { groupName: string; comments: string; attachedMs: number }[];
}

/** Groups a user belongs to. */
export interface Membership {
  group: RamGroup;
  joinedMs: number;
}
