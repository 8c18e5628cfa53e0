// RAM's response records, field for field as the RAM SDK models name them.
import type { PolicyView } from '../../domain/iam/iam-service.js';
import type { AccessKeyInfo, PolicyVersion, RamGroup, RamUser } from '../../domain/iam/model.js';
import { isoTime } from '../ens/render-time.js';

/** What CreateUser returns of a user. */
export const userCreated = (u: RamUser) => ({
  UserId: u.userId,
  UserName: u.userName,
  DisplayName: u.displayName,
  MobilePhone: u.mobilePhone,
  Email: u.email,
  Comments: u.comments,
  CreateDate: isoTime(u.createdMs),
});

/** What GetUser, UpdateUser and ListUsers return of a user. */
export const user = (u: RamUser) => ({ ...userCreated(u), UpdateDate: isoTime(u.updatedMs) });

export const accessKey = (k: AccessKeyInfo) => ({
  AccessKeyId: k.accessKeyId,
  Status: k.status,
  CreateDate: isoTime(k.createdMs),
});

export const group = (g: RamGroup) => ({
  GroupId: g.groupId,
  GroupName: g.groupName,
  Comments: g.comments,
  CreateDate: isoTime(g.createdMs),
  UpdateDate: isoTime(g.updatedMs),
});

export const versionId = (version: number): string => `v${version}`;

export const policy = (p: PolicyView) => ({
  PolicyName: p.name,
  PolicyType: p.type,
  Description: p.description,
  DefaultVersion: versionId(p.defaultVersion),
  CreateDate: isoTime(p.createdMs),
  UpdateDate: isoTime(p.updatedMs),
  AttachmentCount: p.attachmentCount,
});

export const policyVersion = (v: PolicyVersion) => ({
  VersionId: versionId(v.version),
  IsDefaultVersion: v.isDefault,
  PolicyDocument: v.document,
  CreateDate: isoTime(v.createdMs),
});

/** IsTruncated, and the Marker of the next page when there is one. */
export const paging = (marker: string | undefined) =>
  marker === undefined ? { IsTruncated: false } : { IsTruncated: true, Marker: marker };
