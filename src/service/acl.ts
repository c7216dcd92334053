/**
 * @module service/acl
 * What an object ACL means: canned ACLs and AccessControlPolicy grants -> one stored form, and
 * back to the grants S3 clients read. Osprey has one user (the owner), so a grant names the
 * owner or one of the two groups S3 defines; an ACL always keeps the owner's FULL_CONTROL.
 *
 * Stored form (ObjectMeta.acl): `GROUP=PERMISSION` pairs joined with ',', e.g.
 * `AllUsers=READ,AuthenticatedUsers=READ` (the owner's FULL_CONTROL is implied). '' is private.
 * An object without a stored ACL has the bucket's: that keeps a public-read bucket's objects
 * public (a website), while an ACL given with the object (x-amz-acl, PutObjectAcl) decides alone.
 */
import { S3Error } from '../errors.js';

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
const GROUPS = { AllUsers: ALL_USERS, AuthenticatedUsers: AUTHENTICATED_USERS } as const;
type Group = keyof typeof GROUPS;
const PERMISSIONS = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'] as const;
type Permission = (typeof PERMISSIONS)[number];

export const OBJECT_CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;

/** canned ACL -> stored form; the bucket-owner-* ones name the owner, who already has FULL_CONTROL */
const CANNED: Record<(typeof OBJECT_CANNED_ACLS)[number], string> = {
  private: '',
  'public-read': 'AllUsers=READ',
  'public-read-write': 'AllUsers=READ,AllUsers=WRITE',
  'authenticated-read': 'AuthenticatedUsers=READ',
  'bucket-owner-read': '',
  'bucket-owner-full-control': '',
};

function isCanned(v: string): v is (typeof OBJECT_CANNED_ACLS)[number] {
  return (OBJECT_CANNED_ACLS as readonly string[]).includes(v);
}

/** `x-amz-acl` / `x-oss-object-acl` value -> stored form; undefined when absent; InvalidArgument when unknown. */
export function cannedObjectAcl(value: string | undefined, header = 'x-amz-acl'): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  // OSS: 'default' means "the bucket's", which is what no stored ACL means
  if (v === 'default' && header.startsWith('x-oss-')) return undefined;
  if (!isCanned(v)) {
    throw new S3Error('InvalidArgument', {
      message: `Unsupported canned ACL '${v}': use one of ${OBJECT_CANNED_ACLS.join(', ')}.`,
      fields: { ArgumentName: header, ArgumentValue: v },
    });
  }
  return CANNED[v];
}

/** The ACL headers of a PutObject/CopyObject/CreateMultipartUpload/PutObjectAcl request -> stored form, or undefined. */
export function objectAclFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-amz-grant-'))
      throw new S3Error('NotImplemented', {
        message: `${name} is not implemented: give a canned ACL (x-amz-acl) or an AccessControlPolicy body.`,
      });
  }
  const one = (n: string) => {
    const v = headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  const amz = one('x-amz-acl');
  if (amz !== undefined) return cannedObjectAcl(amz, 'x-amz-acl');
  const oss = one('x-oss-object-acl') ?? one('x-oss-acl');
  return cannedObjectAcl(oss, 'x-oss-object-acl');
}

interface Grant {
  group: Group;
  permission: Permission;
}

function decode(stored: string): Grant[] {
  const grants: Grant[] = [];
  for (const pair of stored.split(',')) {
    const [group, permission] = pair.split('=');
    if (group !== undefined && group in GROUPS && (PERMISSIONS as readonly string[]).includes(permission ?? '')) {
      grants.push({ group: group as Group, permission: permission as Permission });
    }
  }
  return grants;
}

function encode(grants: Grant[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  // groups in a fixed order (AllUsers first), each group's permissions in PERMISSIONS order
  for (const group of Object.keys(GROUPS) as Group[]) {
    for (const permission of PERMISSIONS) {
      const pair = `${group}=${permission}`;
      if (!seen.has(pair) && grants.some((g) => g.group === group && g.permission === permission)) {
        seen.add(pair);
        out.push(pair);
      }
    }
  }
  return out.join(',');
}

/** May anyone (an unsigned request) read the object with this stored ACL? */
export function anonymousMayRead(stored: string): boolean {
  return decode(stored).some((g) => g.group === 'AllUsers' && (g.permission === 'READ' || g.permission === 'FULL_CONTROL'));
}

/** The stored form an object without its own ACL has, from its bucket's canned ACL. */
export function fromBucketAcl(bucketAcl: string): string {
  return isCanned(bucketAcl) ? CANNED[bucketAcl] : '';
}

/** One grant of an AccessControlPolicy body, as the handler read it. */
export interface PolicyGrant {
  uri?: string;
  id?: string;
  permission: string;
}

/**
 * An AccessControlPolicy's grants -> stored form. Grants to the owner (by canonical ID) are the
 * implied FULL_CONTROL; grants to AllUsers/AuthenticatedUsers are kept; any other grantee is refused.
 */
export function aclFromGrants(policy: PolicyGrant[], ownerId: string): string {
  const grants: Grant[] = [];
  for (const { uri, id, permission } of policy) {
    if (!(PERMISSIONS as readonly string[]).includes(permission))
      throw new S3Error('MalformedXML', { message: `Unknown permission '${permission.slice(0, 40)}'.` });
    if (uri !== undefined) {
      const group = (Object.keys(GROUPS) as Group[]).find((k) => GROUPS[k] === uri);
      if (group === undefined)
        throw new S3Error('InvalidArgument', {
          message: `Unsupported grantee group '${uri.slice(0, 100)}'.`,
          fields: { ArgumentName: 'URI', ArgumentValue: uri.slice(0, 100) },
        });
      grants.push({ group, permission: permission as Permission });
    } else if (id !== undefined) {
      if (id !== ownerId)
        throw new S3Error('InvalidArgument', {
          message: 'Invalid id: the only canonical user is the owner.',
          fields: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id.slice(0, 100) },
        });
    } else {
      throw new S3Error('NotImplemented', { message: 'Grants by e-mail address are not implemented.' });
    }
  }
  return encode(grants);
}

/**
 * The AccessControlPolicy document of a stored ACL, grants listed as RGW lists them: the group
 * grants first, then the owner's FULL_CONTROL (clients that compare lists in order expect that).
 */
export function aclDocument(stored: string, owner: { ID: string; DisplayName: string }): Record<string, unknown> {
  const xsi = { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance' };
  const grants = decode(stored).map((g) => ({
    Grantee: { ...xsi, '@_xsi:type': 'Group', URI: GROUPS[g.group] },
    Permission: g.permission,
  }));
  grants.push({ Grantee: { ...xsi, '@_xsi:type': 'CanonicalUser', ...owner } as never, Permission: 'FULL_CONTROL' });
  return { AccessControlPolicy: { Owner: owner, AccessControlList: { Grant: grants } } };
}

/** OSS dialect: GetObjectAcl answers the canned name ('default' when the object has none of its own). */
export function ossAclName(stored: string | undefined): string {
  if (stored === undefined) return 'default';
  const g = encode(decode(stored));
  if (g === '') return 'private';
  if (g === CANNED['public-read']) return 'public-read';
  if (g === CANNED['public-read-write']) return 'public-read-write';
  return 'private';
}
