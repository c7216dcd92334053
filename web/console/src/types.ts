/**
 * The console API's JSON shapes (documented in the README, "Web console"). The page only ever
 * talks HTTP to /-/console/api/; these types describe what comes back.
 */
export interface SessionInfo {
  accessKeyId: string;
  expiresAt: string;
  csrfToken: string;
}

export type CannedAcl = 'private' | 'public-read' | 'public-read-write';
export const ACLS: CannedAcl[] = ['private', 'public-read', 'public-read-write'];

export interface Bucket {
  name: string;
  created: string;
  acl: CannedAcl;
}

export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
  /** x-oss-tag of a mirrored object ("MIRROR <origin URL>"), null when uploaded */
  origin: string | null;
}

export interface ObjectPage {
  bucket: string;
  prefix: string;
  folders: string[];
  objects: ObjectSummary[];
  truncated: boolean;
  next?: string;
}

export interface ObjectDetails extends ObjectSummary {
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  system: Record<string, string>;
}

export type RedirectType = 'Mirror' | 'External' | 'Internal' | 'AliCDN';

export interface KeyValue {
  Key?: string;
  Value?: string;
}
export interface IncludeHeader {
  Key?: string;
  Equals?: string;
  StartsWith?: string;
  EndsWith?: string;
}

/** A routing rule in OSS element names; fields the console does not edit are kept as they are. */
export interface Rule {
  RuleNumber: number;
  Condition?: {
    KeyPrefixEquals?: string;
    KeySuffixEquals?: string;
    HttpErrorCodeReturnedEquals?: number;
    IncludeHeader?: IncludeHeader[];
    [k: string]: unknown;
  };
  Redirect: {
    RedirectType: RedirectType;
    MirrorURL?: string;
    MirrorURLSlave?: string;
    MirrorPassQueryString?: boolean;
    MirrorFollowRedirect?: boolean;
    MirrorCheckMd5?: boolean;
    MirrorProxyPass?: boolean;
    MirrorAllowHeadObject?: boolean;
    MirrorSaveOssMeta?: boolean;
    MirrorUserLastModified?: boolean;
    MirrorSwitchAllErrors?: boolean;
    TransparentMirrorResponseCodes?: string;
    MirrorHeaders?: { PassAll?: boolean; Pass?: string[]; Remove?: string[]; Set?: KeyValue[] };
    Protocol?: string;
    HostName?: string;
    ReplaceKeyWith?: string;
    ReplaceKeyPrefixWith?: string;
    EnableReplacePrefix?: boolean;
    HttpRedirectCode?: number;
    PassQueryString?: boolean;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface WebsiteConfig {
  dialect: 'oss' | 's3';
  IndexDocument?: { Suffix: string; SupportSubDir?: boolean; Type?: number };
  ErrorDocument?: { Key: string; HttpStatus?: number };
  RoutingRules: Rule[];
  RedirectAllRequestsTo?: { HostName: string; Protocol?: string };
}

export interface WebsiteState {
  bucket: string;
  configured: boolean;
  config: WebsiteConfig | null;
  xml: string | null;
  maxRules: number;
}

export interface TraceEntry {
  ruleNumber: number;
  matched: boolean;
  reason: string;
}

export interface MirrorPlan {
  method: 'GET' | 'HEAD';
  urls: string[];
  probeUrl?: string;
  headers: Record<string, string>;
  hostOverride?: string;
  dropped: { name: string; reason: string }[];
  storeKey: string;
  store: boolean;
  followRedirects: boolean;
  maxRedirects: number;
  checkMd5: boolean;
  failover: string;
  asyncStatus?: number;
}

export interface Explanation {
  request: { method: string; key: string; status?: number; websiteMode: boolean };
  configured: boolean;
  dialect?: 'oss' | 's3';
  trace: { phase: string; entries: TraceEntry[]; at?: number }[];
  steps: string[];
  outcome:
    | { kind: 'serve'; key: string; status: number; why: string; errorDocument?: boolean }
    | { kind: 'redirect'; status: number; location: string; ruleNumber?: number; why: string }
    | { kind: 'mirror'; ruleNumber: number; key: string; why: string; plan: MirrorPlan }
    | { kind: 'error'; status: number; code: string; why: string };
}

export interface FillView {
  id: string;
  bucket: string;
  key: string;
  url: string;
  startedAt: string;
  status?: number;
  bytes: number;
  ms?: number;
  followers: number;
  outcome?: string;
  reason?: string;
}

export interface Activity {
  now: string;
  recent: FillView[];
  inflight: FillView[];
}
