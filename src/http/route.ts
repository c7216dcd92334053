/**
 * @module http/route
 * Request -> Endpoint: a pure parse of method, Host and request-target into a typed operation
 * with its bucket, key and scope. Virtual-hosted (bucket.DOMAIN), bound domains (HOST=bucket)
 * and path-style (/bucket/key) addressing. Names are validated here, before auth, and the same
 * parsed bucket/key are used for auth and storage.
 */
import { S3Error } from '../errors.js';
import { decodePathPart, validateBucketName, validateObjectKey } from '../service/names.js';

/** What a principal needs: read/write on the bucket (ACL may open them to anonymous), owner (only the key holder). */
export type Scope = 'read' | 'write' | 'owner';

export type Op =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'GetBucketLocation'
  | 'GetBucketAcl'
  | 'PutBucketAcl'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'GetBucketWebsite'
  | 'PutBucketWebsite'
  | 'DeleteBucketWebsite'
  | 'GetBucketCors'
  | 'PutBucketCors'
  | 'DeleteBucketCors'
  /** a CORS preflight of a bucket or object (AWS's "OPTIONS object"), answered before authentication */
  | 'OptionsObject'
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'DeleteObject'
  | 'GetObjectTagging'
  | 'PutObjectTagging'
  | 'DeleteObjectTagging'
  | 'GetObjectAcl'
  | 'PutObjectAcl'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'Admin'
  /** a sub-resource (or a method on one) that Osprey does not implement: authenticated, then 501 */
  | 'NotImplemented';

export interface Endpoint {
  op: Op;
  scope: Scope;
  bucket?: string;
  key?: string;
  /** decoded query parameters (first value wins) */
  query: Map<string, string>;
  /** how the bucket was addressed, for building URLs back */
  style: 'path' | 'virtual' | 'bound' | 'none';
  /** for Admin: the path after '/-/' */
  adminPath?: string;
  /** for NotImplemented: the sub-resource(s) the request named, e.g. 'acl' */
  subresource?: string;
}

export interface RouteOptions {
  domains: readonly string[];
  bindDomains: Readonly<Record<string, string>>;
}

const SCOPES: Record<Op, Scope> = {
  ListBuckets: 'owner',
  CreateBucket: 'owner',
  HeadBucket: 'read',
  DeleteBucket: 'owner',
  GetBucketLocation: 'read',
  GetBucketAcl: 'owner',
  PutBucketAcl: 'owner',
  ListObjects: 'read',
  ListObjectsV2: 'read',
  ListMultipartUploads: 'write',
  DeleteObjects: 'write',
  GetBucketWebsite: 'owner',
  PutBucketWebsite: 'owner',
  DeleteBucketWebsite: 'owner',
  GetBucketCors: 'owner',
  PutBucketCors: 'owner',
  DeleteBucketCors: 'owner',
  OptionsObject: 'read',
  GetObject: 'read',
  HeadObject: 'read',
  PutObject: 'write',
  CopyObject: 'write',
  DeleteObject: 'write',
  GetObjectTagging: 'read',
  PutObjectTagging: 'write',
  DeleteObjectTagging: 'write',
  GetObjectAcl: 'owner',
  PutObjectAcl: 'owner',
  CreateMultipartUpload: 'write',
  UploadPart: 'write',
  CompleteMultipartUpload: 'write',
  AbortMultipartUpload: 'write',
  ListParts: 'write',
  Admin: 'owner',
  NotImplemented: 'owner',
};

/**
 * Every sub-resource of the S3 API (and OSS's own): a query parameter that names an operation
 * rather than qualifying one. A request that names one is routed only to the operation it names;
 * when Osprey does not implement that operation it answers 501 NotImplemented and changes
 * nothing. Without this list an unknown sub-resource fell through to the plain operation of its
 * method (PUT ?acl replaced the object with 0 bytes, DELETE ?cors deleted the bucket).
 * Ordinary parameters (prefix, versionId, partNumber, response-*, x-id, signatures…) are not here.
 */
export const SUBRESOURCES: ReadonlySet<string> = new Set([
  // S3
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataConfiguration',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'renameObject',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'select-type',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
  'abac',
  // Alibaba OSS
  'append',
  'accessPoint',
  'asyncFetch',
  'bucketArchiveDirectRead',
  'bucketInfo',
  'cname',
  'comp',
  'dataRedundancyTransition',
  'httpsConfig',
  'live',
  'metaQuery',
  'objectMeta',
  'qos',
  'qosInfo',
  'referer',
  'regionList',
  'replicationLocation',
  'replicationProgress',
  'resourceGroup',
  'responseHeader',
  'stat',
  'style',
  'symlink',
  'transferAcceleration',
  'userDefinedLogFieldsConfig',
  'vod',
  'worm',
  'wormExtend',
  'wormId',
  'x-oss-async-process',
  'x-oss-process',
]);

type Level = 'bucket' | 'object';
/** The implemented operations, by level, method and the one sub-resource named ('' = none). */
const IMPLEMENTED: Record<Level, Record<string, Record<string, Op>>> = {
  bucket: {
    GET: {
      '': 'ListObjects',
      location: 'GetBucketLocation',
      acl: 'GetBucketAcl',
      website: 'GetBucketWebsite',
      uploads: 'ListMultipartUploads',
      cors: 'GetBucketCors',
    },
    HEAD: { '': 'HeadBucket' },
    PUT: { '': 'CreateBucket', acl: 'PutBucketAcl', website: 'PutBucketWebsite', cors: 'PutBucketCors' },
    DELETE: { '': 'DeleteBucket', website: 'DeleteBucketWebsite', cors: 'DeleteBucketCors' },
    POST: { delete: 'DeleteObjects' },
  },
  object: {
    GET: { '': 'GetObject', uploadId: 'ListParts', tagging: 'GetObjectTagging', acl: 'GetObjectAcl' },
    HEAD: { '': 'HeadObject' },
    // CopyObject is told apart by the x-amz-copy-source header (see refineOp)
    PUT: { '': 'PutObject', uploadId: 'UploadPart', tagging: 'PutObjectTagging', acl: 'PutObjectAcl' },
    DELETE: { '': 'DeleteObject', uploadId: 'AbortMultipartUpload', tagging: 'DeleteObjectTagging' },
    POST: { uploads: 'CreateMultipartUpload', uploadId: 'CompleteMultipartUpload' },
  },
};
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);

export function parseQuery(search: string): Map<string, string> {
  const q = new Map<string, string>();
  if (!search) return q;
  for (const part of search.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const rawName = i < 0 ? part : part.slice(0, i);
    const rawValue = i < 0 ? '' : part.slice(i + 1);
    const name = safeDecode(rawName);
    if (!q.has(name)) q.set(name, safeDecode(rawValue));
  }
  return q;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    throw new S3Error('InvalidArgument', { message: `Malformed percent-encoding in the query string: '${s.slice(0, 64)}'.` });
  }
}

/** Host header -> bucket from virtual-hosted style or a bound domain, else undefined (path style). */
export function bucketFromHost(
  hostHeader: string | undefined,
  opts: RouteOptions,
): { bucket: string; style: 'virtual' | 'bound' } | undefined {
  if (!hostHeader) return undefined;
  // a server sees few Host values: each answered once (per options), at most HOSTS_KEPT kept
  let seen = hostsSeen.get(opts);
  if (seen === undefined) hostsSeen.set(opts, (seen = new Map()));
  const known = seen.get(hostHeader);
  if (known !== undefined) return known ?? undefined;
  if (seen.size >= HOSTS_KEPT) seen.clear();
  const found = hostToBucket(hostHeader, opts);
  seen.set(hostHeader, found === undefined ? null : Object.freeze(found));
  return found;
}

const HOSTS_KEPT = 256;
const hostsSeen = new WeakMap<RouteOptions, Map<string, { bucket: string; style: 'virtual' | 'bound' } | null>>();

function hostToBucket(hostHeader: string, opts: RouteOptions): { bucket: string; style: 'virtual' | 'bound' } | undefined {
  const host = hostHeader.toLowerCase().replace(/:\d+$/, '');
  const bound = opts.bindDomains[host];
  if (bound !== undefined) return { bucket: bound, style: 'bound' };
  for (const domain of opts.domains) {
    if (host.endsWith('.' + domain)) return { bucket: host.slice(0, -domain.length - 1), style: 'virtual' };
  }
  return undefined;
}

export function route(method: string, url: string, host: string | undefined, opts: RouteOptions): Endpoint {
  const qi = url.indexOf('?');
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const query = parseQuery(qi < 0 ? '' : url.slice(qi + 1));
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidRequest', { message: 'The request target must be an absolute path.' });

  const vhost = bucketFromHost(host, opts);
  let bucket: string | undefined;
  let key: string | undefined;
  let style: Endpoint['style'];
  if (vhost) {
    bucket = vhost.bucket;
    style = vhost.style;
    const rest = rawPath.slice(1);
    key = rest === '' ? undefined : decodePathPart(rest);
  } else {
    if (rawPath.startsWith('/-/')) {
      return { op: 'Admin', scope: 'owner', query, style: 'none', adminPath: decodePathPart(rawPath.slice(3)) };
    }
    const rest = rawPath.slice(1);
    const slash = rest.indexOf('/');
    const rawBucket = slash < 0 ? rest : rest.slice(0, slash);
    bucket = rawBucket === '' ? undefined : decodePathPart(rawBucket);
    const rawKey = slash < 0 ? '' : rest.slice(slash + 1);
    key = rawKey === '' ? undefined : decodePathPart(rawKey);
    style = bucket === undefined ? 'none' : 'path';
  }

  if (bucket !== undefined) validateBucketName(bucket);
  if (key !== undefined) validateObjectKey(key);
  const { op, subresource } = pickOp(method, bucket, key, query);
  return {
    op,
    scope: SCOPES[op],
    ...(bucket !== undefined && { bucket }),
    ...(key !== undefined && { key }),
    query,
    style,
    ...(subresource !== undefined && { subresource }),
  };
}

function methodNotAllowed(method: string): S3Error {
  return new S3Error('MethodNotAllowed', { message: `The specified method ${method} is not allowed against this resource.` });
}

function pickOp(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  q: Map<string, string>,
): { op: Op; subresource?: string } {
  if (bucket === undefined) {
    if (method === 'GET') return { op: 'ListBuckets' };
    throw methodNotAllowed(method);
  }
  // a preflight names the request it asks about in its headers, whatever the query (a presigned URL's too)
  if (method === 'OPTIONS') return { op: 'OptionsObject' };
  if (!METHODS.has(method)) throw methodNotAllowed(method);
  const named: string[] = [];
  for (const name of q.keys()) if (SUBRESOURCES.has(name)) named.push(name);
  const level: Level = key === undefined ? 'bucket' : 'object';
  const ops = IMPLEMENTED[level][method] ?? {};
  // UploadPart may come as ?partNumber=N&uploadId=ID (the only sub-resource) or, from old clients, ?partNumber alone
  if (named.length === 0) {
    if (level === 'object' && method === 'PUT' && q.has('partNumber')) return { op: 'UploadPart' };
    if (level === 'bucket' && method === 'GET' && q.get('list-type') === '2') return { op: 'ListObjectsV2' };
    const op = ops[''];
    if (op !== undefined) return { op };
    throw methodNotAllowed(method);
  }
  const op = named.length === 1 ? ops[named[0] as string] : undefined;
  if (op !== undefined) return { op };
  return { op: 'NotImplemented', subresource: named.join('&') };
}

/** Header-dependent refinements of the op (copy source turns a PUT into a CopyObject). */
export function refineOp(ep: Endpoint, headers: Record<string, string | string[] | undefined>): Endpoint {
  if (ep.op === 'PutObject' && (headers['x-amz-copy-source'] !== undefined || headers['x-oss-copy-source'] !== undefined)) {
    return { ...ep, op: 'CopyObject', scope: SCOPES.CopyObject };
  }
  if (ep.op === 'UploadPart' && (headers['x-amz-copy-source'] !== undefined || headers['x-oss-copy-source'] !== undefined)) {
    throw new S3Error('NotImplemented', { message: 'UploadPartCopy is not implemented.' });
  }
  return ep;
}
