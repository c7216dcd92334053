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
  | 'CreateBucket' | 'HeadBucket' | 'DeleteBucket' | 'GetBucketLocation' | 'GetBucketAcl' | 'PutBucketAcl'
  | 'ListObjects' | 'ListObjectsV2' | 'ListMultipartUploads' | 'DeleteObjects'
  | 'GetBucketWebsite' | 'PutBucketWebsite' | 'DeleteBucketWebsite'
  | 'GetObject' | 'HeadObject' | 'PutObject' | 'CopyObject' | 'DeleteObject'
  | 'GetObjectTagging' | 'PutObjectTagging' | 'DeleteObjectTagging'
  | 'CreateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts'
  | 'Admin';

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
}

export interface RouteOptions {
  domains: readonly string[];
  bindDomains: Readonly<Record<string, string>>;
}

const SCOPES: Record<Op, Scope> = {
  ListBuckets: 'owner', CreateBucket: 'owner', HeadBucket: 'read', DeleteBucket: 'owner', GetBucketLocation: 'read',
  GetBucketAcl: 'owner', PutBucketAcl: 'owner', ListObjects: 'read', ListObjectsV2: 'read', ListMultipartUploads: 'write',
  DeleteObjects: 'write', GetBucketWebsite: 'owner', PutBucketWebsite: 'owner', DeleteBucketWebsite: 'owner',
  GetObject: 'read', HeadObject: 'read', PutObject: 'write', CopyObject: 'write', DeleteObject: 'write',
  GetObjectTagging: 'read', PutObjectTagging: 'write', DeleteObjectTagging: 'write',
  CreateMultipartUpload: 'write', UploadPart: 'write', CompleteMultipartUpload: 'write', AbortMultipartUpload: 'write',
  ListParts: 'write', Admin: 'owner',
};

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
export function bucketFromHost(hostHeader: string | undefined, opts: RouteOptions): { bucket: string; style: 'virtual' | 'bound' } | undefined {
  if (!hostHeader) return undefined;
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
  const op = pickOp(method, bucket, key, query);
  return { op, scope: SCOPES[op], ...(bucket !== undefined && { bucket }), ...(key !== undefined && { key }), query, style };
}

function pickOp(method: string, bucket: string | undefined, key: string | undefined, q: Map<string, string>): Op {
  const notAllowed = () => new S3Error('MethodNotAllowed', { message: `The specified method ${method} is not allowed against this resource.` });
  if (bucket === undefined) {
    if (method === 'GET') return 'ListBuckets';
    throw notAllowed();
  }
  if (key === undefined) {
    switch (method) {
      case 'GET':
        if (q.has('location')) return 'GetBucketLocation';
        if (q.has('acl')) return 'GetBucketAcl';
        if (q.has('website')) return 'GetBucketWebsite';
        if (q.has('uploads')) return 'ListMultipartUploads';
        if (q.get('list-type') === '2') return 'ListObjectsV2';
        return 'ListObjects';
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        if (q.has('acl')) return 'PutBucketAcl';
        if (q.has('website')) return 'PutBucketWebsite';
        return 'CreateBucket';
      case 'DELETE':
        if (q.has('website')) return 'DeleteBucketWebsite';
        return 'DeleteBucket';
      case 'POST':
        if (q.has('delete')) return 'DeleteObjects';
        throw notAllowed();
      default:
        throw notAllowed();
    }
  }
  switch (method) {
    case 'GET':
      if (q.has('uploadId')) return 'ListParts';
      if (q.has('tagging')) return 'GetObjectTagging';
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return 'UploadPart';
      if (q.has('tagging')) return 'PutObjectTagging';
      return 'PutObject'; // CopyObject is told apart by the x-amz-copy-source header (see refineOp)
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      if (q.has('tagging')) return 'DeleteObjectTagging';
      return 'DeleteObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      throw notAllowed();
    default:
      throw notAllowed();
  }
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
