import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from '../../src/errors.ts';
import {
  ALL_USERS,
  AUTHENTICATED_USERS,
  aclDocument,
  aclFromGrants,
  anonymousMayRead,
  cannedObjectAcl,
  fromBucketAcl,
  objectAclFromHeaders,
  ossAclName,
} from '../../src/service/acl.ts';

const isCode = (code: string) => (e: unknown) => e instanceof S3Error && e.code === code;

describe('service/acl: object ACLs', () => {
  it("canned ACLs -> stored form; the owner's FULL_CONTROL is implied", () => {
    assert.equal(cannedObjectAcl('private'), '');
    assert.equal(cannedObjectAcl('public-read'), 'AllUsers=READ');
    assert.equal(cannedObjectAcl('public-read-write'), 'AllUsers=READ,AllUsers=WRITE');
    assert.equal(cannedObjectAcl('authenticated-read'), 'AuthenticatedUsers=READ');
    assert.equal(cannedObjectAcl('bucket-owner-full-control'), '');
    assert.equal(cannedObjectAcl(undefined), undefined);
    assert.throws(() => cannedObjectAcl('everyone'), isCode('InvalidArgument'));
    assert.equal(cannedObjectAcl('default', 'x-oss-object-acl'), undefined, "OSS default: the bucket's");
  });

  it('headers: x-amz-acl, then x-oss-object-acl; x-amz-grant-* is NotImplemented', () => {
    assert.equal(objectAclFromHeaders({ 'x-amz-acl': 'public-read' }), 'AllUsers=READ');
    assert.equal(objectAclFromHeaders({ 'x-oss-object-acl': 'private' }), '');
    assert.equal(objectAclFromHeaders({}), undefined);
    assert.throws(() => objectAclFromHeaders({ 'x-amz-grant-read': 'uri=x' }), isCode('NotImplemented'));
  });

  it('grants -> stored form: groups in a fixed order, duplicates once, owner grants implied, others refused', () => {
    const got = aclFromGrants(
      [
        { uri: AUTHENTICATED_USERS, permission: 'READ' },
        { id: 'me', permission: 'FULL_CONTROL' },
        { uri: ALL_USERS, permission: 'WRITE' },
        { uri: ALL_USERS, permission: 'READ' },
        { uri: ALL_USERS, permission: 'READ' },
      ],
      'me',
    );
    assert.equal(got, 'AllUsers=READ,AllUsers=WRITE,AuthenticatedUsers=READ');
    assert.throws(() => aclFromGrants([{ id: 'someone', permission: 'READ' }], 'me'), isCode('InvalidArgument'));
    assert.throws(
      () => aclFromGrants([{ uri: 'http://acs.amazonaws.com/groups/s3/LogDelivery', permission: 'WRITE' }], 'me'),
      isCode('InvalidArgument'),
    );
    assert.throws(() => aclFromGrants([{ uri: ALL_USERS, permission: 'EVERYTHING' }], 'me'), isCode('MalformedXML'));
    assert.throws(() => aclFromGrants([{ permission: 'READ' }], 'me'), isCode('NotImplemented'));
  });

  it('anonymous reads need AllUsers READ (or FULL_CONTROL)', () => {
    assert.equal(anonymousMayRead(''), false);
    assert.equal(anonymousMayRead('AllUsers=READ'), true);
    assert.equal(anonymousMayRead('AllUsers=FULL_CONTROL'), true);
    assert.equal(anonymousMayRead('AllUsers=WRITE'), false);
    assert.equal(anonymousMayRead('AuthenticatedUsers=READ'), false);
  });

  it('the document lists the group grants first, then the owner (as RGW)', () => {
    const doc = aclDocument('AllUsers=READ,AllUsers=WRITE', { ID: 'me', DisplayName: 'me' }) as {
      AccessControlPolicy: { AccessControlList: { Grant: { Grantee: Record<string, string>; Permission: string }[] } };
    };
    const grants = doc.AccessControlPolicy.AccessControlList.Grant.map((g) => [g.Grantee.URI ?? g.Grantee.ID, g.Permission]);
    assert.deepEqual(grants, [
      [ALL_USERS, 'READ'],
      [ALL_USERS, 'WRITE'],
      ['me', 'FULL_CONTROL'],
    ]);
    assert.equal(fromBucketAcl('public-read'), 'AllUsers=READ');
    assert.equal(ossAclName(undefined), 'default');
    assert.equal(ossAclName('AllUsers=READ'), 'public-read');
    assert.equal(ossAclName(''), 'private');
  });
});
