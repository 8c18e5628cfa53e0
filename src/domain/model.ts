// The domain's records: what a disk, a snapshot, an order and a job are, independent of SQL and HTTP.

export type DiskCategory = 'cloud_efficiency' | 'cloud_ssd';
export type DiskStatus = 'Creating' | 'Available' | 'In-use' | 'Deleting';
export type SnapshotStatus = 'creating' | 'available' | 'deleting' | 'error';

export interface Disk {
  id: string;
  accountId: string;
  regionId: string;
  name: string;
  description: string;
  category: DiskCategory;
  sizeMib: number;
  status: DiskStatus;
  /** "1" system disk, "2" data disk (as DescribeDisks renders it). */
  type: '1' | '2';
  chargeType: string;
  encrypted: boolean;
  kmsKeyId: string;
  snapshotId: string;
  createdMs: number;
  tags: { key: string; value: string }[];
}

export interface Snapshot {
  id: string;
  accountId: string;
  regionId: string;
  diskId: string;
  diskCategory: DiskCategory;
  diskType: '1' | '2';
  sizeMib: number;
  name: string;
  description: string;
  status: SnapshotStatus;
  /** 0..100 */
  progress: number;
  sourceRegionId: string;
  sourceSnapshotId: string;
  orderId: string;
  createdMs: number;
  lastError: string;
}

export interface Order {
  id: string;
  accountId: string;
  product: 'snapshot' | 'disk';
  action: string;
  resourceId: string;
  regionId: string;
  state: 'paid' | 'refunded';
  /** Charged for the order, in currency units (price × size for one month). */
  amount: number;
  createdMs: number;
}

/** Snapshot quotas; 0 is no limit. */
export interface SnapshotQuotas {
  snapshotsPerDisk: number;
  snapshotsPerAccount: number;
  snapshotCapacityGib: number;
}

/** What an account may order, as the operator sets it. */
export interface AccountStanding {
  /** Prepaid funds, in currency units; a priced order is taken from it. */
  balance: number;
  /** Unpaid bills, in currency units: above 0, nothing new is ordered. */
  overdue: number;
  frozen: boolean;
  realNameVerified: boolean;
  /** The account's own quotas; a null one is the service's default. */
  quotas: { [K in keyof SnapshotQuotas]: number | null };
}

/** How CreateSnapshot prices and limits, from the configuration. */
export interface SnapshotPolicy {
  pricePerGibMonth: number;
  quotas: SnapshotQuotas;
}

export type JobKind = 'snapshot.create' | 'snapshot.share' | 'snapshot.delete' | 'disk.delete';

export interface Job {
  id: number;
  kind: JobKind;
  accountId: string;
  resourceId: string;
  attempts: number;
  lastError: string;
}

export interface AccessKey {
  accessKeyId: string;
  secret: string;
  accountId: string;
  status: 'Active' | 'Inactive';
  /** The RAM user that owns the key; undefined for a root key of the account. */
  userName?: string;
}

export interface Account {
  /** 16 digits; the first account, 1000000000000001, is the operator's. */
  id: string;
  name: string;
  createdMs: number;
}

/** An account as the operator lists it, with what it holds. */
export interface AccountSummary extends Account {
  /** Its root AccessKeys (RAM users' keys are not counted). */
  accessKeyCount: number;
  diskCount: number;
  snapshotCount: number;
}

/** An access key as a listing shows it: never its secret. */
export interface Page {
  pageNumber: number;
  pageSize: number;
}

export interface PageOf<T> {
  items: T[];
  totalCount: number;
}

export interface DiskFilter {
  diskIds?: string[];
  regionIds?: string[];
  category?: string;
  name?: string;
  snapshotId?: string;
  status?: string;
  type?: '1' | '2';
  chargeType?: string;
  /** Disks attached to an instance: ensnap has no instances yet, so a filter here matches nothing. */
  instanceId?: string;
  orderBy?: { column: 'name' | 'region' | 'created' | 'size'; direction: 'asc' | 'desc' }[];
}

export interface SnapshotFilter {
  snapshotIds?: string[];
  regionIds?: string[];
  diskId?: string;
  name?: string;
  instanceId?: string;
}
