/**
 * @module rules/validate
 * Per-rule validation of spec §1.5 (VAL-02…VAL-16, LIM-03) for both dialects, turning a parsed
 * RoutingRule into the typed model. Messages name the rule (`RoutingRule 3` by RuleNumber,
 * `RoutingRule #2` by position when it has none) and the field; values are InvalidArgument.
 */
import { S3Error } from '../errors.js';
import type { Infer, RedirectType, ROUTING_RULE } from './schema.js';
import { REDIRECT_TYPES, isRedirectType } from './schema.js';
import { AUTH_TYPES, authTypeOf } from './mirror-auth.js';
import { tagSetProblem } from './tagging.js';
import type { Condition, Redirect, RoutingRule } from './model.js';

type RawRule = Infer<typeof ROUTING_RULE.type>;
type RawRedirect = NonNullable<RawRule['Redirect']>;

/** VAL-12: header names of Pass/Remove/Set (and IncludeHeader, ReturnHeader): ≤1,024 bytes of [A-Za-z0-9-]. */
const HEADER_NAME = /^[A-Za-z0-9-]{1,1024}$/;
/** VAL-06: http(s)://host/…/ — MirrorURL is an opaque prefix (MIR-09), so a query part is allowed. */
const ORIGIN_URL = /^https?:\/\/[^/?#\s]+\/[^\s#]*$/;
/** VAL-10: a domain name (or an IP address), with an optional port. */
const HOST_NAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const MAX_LIST = 10; // LIM-03

function invalid(message: string): S3Error {
  return new S3Error('InvalidArgument', { message });
}

export function validateOssRule(raw: RawRule, i: number, seen: Set<number>, guard?: (url: URL) => string | undefined): RoutingRule {
  const n = raw.RuleNumber;
  const at = n === undefined ? `RoutingRule #${i + 1}` : `RoutingRule ${n}`;
  // VAL-02, VAL-03
  if (n === undefined) throw invalid(`${at}: RuleNumber is required.`);
  if (n <= 0) throw invalid(`${at}: RuleNumber must be a positive whole number, not ${n}.`);
  if (seen.has(n)) throw invalid(`${at}: RuleNumber ${n} is used by two rules.`);
  seen.add(n);
  // VAL-04, VAL-05
  if (raw.Condition === undefined) throw invalid(`${at}: Condition is required.`);
  if (raw.Redirect === undefined) throw invalid(`${at}: Redirect is required.`);
  const type = raw.Redirect.RedirectType;
  if (type === undefined || type === '') throw invalid(`${at}: Redirect/RedirectType is required.`);
  if (!isRedirectType(type))
    throw invalid(
      `${at}: Redirect/RedirectType must be ${REDIRECT_TYPES.slice(0, -1).join(', ')} or ${REDIRECT_TYPES.at(-1) ?? ''}, not '${type}'.`,
    );
  const r: Redirect = { ...raw.Redirect, RedirectType: type };
  validateCondition(raw.Condition, at, type);
  // VAL-09
  if (r.ReplaceKeyWith && r.ReplaceKeyPrefixWith) throw invalid(`${at}: ReplaceKeyWith and ReplaceKeyPrefixWith cannot both be set.`);
  if (r.EnableReplacePrefix === true && r.ReplaceKeyWith)
    throw invalid(`${at}: EnableReplacePrefix cannot be true when ReplaceKeyWith is set.`);
  if (type === 'Mirror') {
    validateMirror(r, at, guard);
  } else if (type === 'Internal') {
    // VAL-11
    for (const f of ['Protocol', 'HostName', 'HttpRedirectCode'] as const)
      if (r[f] !== undefined) throw invalid(`${at}: an Internal redirect must not set ${f}.`);
  } else {
    // VAL-10 (External, AliCDN), amended: without Protocol the Location takes the request's protocol
    if (!r.HostName) throw invalid(`${at}: an ${type} redirect needs Redirect/HostName.`);
    checkProtocol(r.Protocol || undefined, `${at}: Redirect/Protocol`);
    checkHost(r.HostName, at);
    if (r.HttpRedirectCode !== undefined && ![301, 302, 307].includes(r.HttpRedirectCode)) {
      throw invalid(`${at}: Redirect/HttpRedirectCode must be 301, 302 or 307, not ${r.HttpRedirectCode}.`);
    }
  }
  validateReturnHeaders(r, at);
  return { ...raw, RuleNumber: n, Condition: raw.Condition, Redirect: type === 'Mirror' ? withGetDefaults(r) : r };
}

function validateCondition(c: Condition, at: string, type: RedirectType): void {
  const code = c.HttpErrorCodeReturnedEquals;
  // VAL-08; redirect rules: the console's 400–599 (§1.3)
  if (type === 'Mirror' && code !== 404)
    throw invalid(`${at}: a Mirror rule needs Condition/HttpErrorCodeReturnedEquals 404${code === undefined ? '' : `, not ${code}`}.`);
  checkErrorCode(code, at);
  const headers = c.IncludeHeader ?? [];
  // LIM-03
  if (headers.length > MAX_LIST) throw invalid(`${at}: at most ${MAX_LIST} IncludeHeader conditions are allowed (got ${headers.length}).`);
  headers.forEach((h, i) => {
    if (!h.Key || !HEADER_NAME.test(h.Key))
      throw invalid(`${at}: Condition/IncludeHeader[${i + 1}]/Key must be a header name of letters, digits and '-', not '${h.Key ?? ''}'.`);
    if (h.Equals === undefined && h.StartsWith === undefined && h.EndsWith === undefined) {
      throw invalid(`${at}: Condition/IncludeHeader[${i + 1}] (${h.Key}) needs Equals, StartsWith or EndsWith.`);
    }
  });
}

function checkErrorCode(code: number | undefined, at: string): void {
  if (code !== undefined && (code < 400 || code > 599))
    throw invalid(`${at}: Condition/HttpErrorCodeReturnedEquals must be from 400 to 599, not ${code}.`);
}

function checkProtocol(p: string | undefined, where: string): void {
  if (p !== undefined && p !== 'http' && p !== 'https') throw invalid(`${where} must be http or https, not '${p}'.`);
}

function checkHost(host: string, at: string): void {
  if (!HOST_NAME.test(host)) throw invalid(`${at}: Redirect/HostName '${host}' is not a valid host name.`);
}

function checkOriginUrl(v: string, field: string, at: string, trailingSlash: boolean, guard?: (url: URL) => string | undefined): void {
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || !ORIGIN_URL.test(v) || (trailingSlash && !v.endsWith('/'))) {
    throw invalid(`${at}: Redirect/${field} must be an http:// or https:// URL${trailingSlash ? ' ending in /' : ''}, not '${v}'.`);
  }
  // VAL-16
  const refused = guard?.(url);
  if (refused !== undefined) throw invalid(`${at}: Redirect/${field} '${v}' is refused: ${refused}.`);
}

function validateMirror(r: Redirect, at: string, guard?: (url: URL) => string | undefined): void {
  // VAL-06, VAL-07
  if (!r.MirrorURL) throw invalid(`${at}: a Mirror rule needs Redirect/MirrorURL.`);
  checkOriginUrl(r.MirrorURL, 'MirrorURL', at, true, guard);
  if (r.MirrorURLSlave !== undefined) checkOriginUrl(r.MirrorURLSlave, 'MirrorURLSlave', at, true, guard);
  if (r.MirrorURLProbe !== undefined) checkOriginUrl(r.MirrorURLProbe, 'MirrorURLProbe', at, false, guard);
  if (r.MirrorURLSlave && !r.MirrorURLProbe) throw invalid(`${at}: Redirect/MirrorURLSlave needs Redirect/MirrorURLProbe.`);
  (r.MirrorMultiAlternates?.MirrorMultiAlternate ?? []).forEach((alt, i) => {
    const field = `MirrorMultiAlternates/MirrorMultiAlternate[${i + 1}]/MirrorMultiAlternateURL`;
    if (!alt.MirrorMultiAlternateURL) throw invalid(`${at}: Redirect/${field} is required.`);
    checkOriginUrl(alt.MirrorMultiAlternateURL, field, at, true, guard);
  });
  // VAL-12, LIM-03
  const h = r.MirrorHeaders;
  for (const list of ['Pass', 'Remove'] as const) {
    const items = h?.[list] ?? [];
    if (items.length > MAX_LIST)
      throw invalid(`${at}: at most ${MAX_LIST} MirrorHeaders/${list} entries are allowed (got ${items.length}).`);
    for (const name of items)
      if (!HEADER_NAME.test(name))
        throw invalid(`${at}: MirrorHeaders/${list} '${name}' is not a valid header name (letters, digits and '-', at most 1024).`);
  }
  const sets = h?.Set ?? [];
  if (sets.length > MAX_LIST) throw invalid(`${at}: at most ${MAX_LIST} MirrorHeaders/Set entries are allowed (got ${sets.length}).`);
  for (const kv of sets) {
    if (!kv.Key || !HEADER_NAME.test(kv.Key))
      throw invalid(`${at}: MirrorHeaders/Set/Key '${kv.Key ?? ''}' is not a valid header name (letters, digits and '-', at most 1024).`);
    if (kv.Value === undefined || /[\r\n]/.test(kv.Value) || Buffer.byteLength(kv.Value) > 1024) {
      throw invalid(`${at}: MirrorHeaders/Set/Value for '${kv.Key}' must be at most 1024 bytes without CR or LF.`);
    }
  }
  if (r.TransparentMirrorResponseCodes !== undefined && !/^\s*\d{3}(\s*,\s*\d{3})*\s*$/.test(r.TransparentMirrorResponseCodes)) {
    throw invalid(
      `${at}: Redirect/TransparentMirrorResponseCodes must be comma-separated status codes such as 400,404, not '${r.TransparentMirrorResponseCodes}'.`,
    );
  }
  // MIR-15: the signing schemes Osprey knows (the spec's [design]: s3v4, oss, ossv4)
  const auth = r.MirrorAuth;
  if (auth?.AuthType !== undefined && authTypeOf(auth.AuthType) === undefined) {
    throw invalid(`${at}: Redirect/MirrorAuth/AuthType must be ${AUTH_TYPES}, not '${auth.AuthType}'.`);
  }
  // MIR-30: the tags must be storable (S3's object tag limits)
  const tagProblem = tagSetProblem(r.MirrorTaggings?.Taggings ?? []);
  if (tagProblem !== undefined) throw invalid(`${at}: Redirect/MirrorTaggings: ${tagProblem}.`);
  // VAL-15: accepted (no invitation gate); it must still be a status the client can be sent (MIR-47)
  if (r.MirrorAsyncStatus !== undefined && (r.MirrorAsyncStatus < 200 || r.MirrorAsyncStatus > 599)) {
    throw invalid(`${at}: Redirect/MirrorAsyncStatus must be an HTTP status from 200 to 599, not ${r.MirrorAsyncStatus}.`);
  }
}

/** MIR-31: these end up as response headers, so they must be header-safe (no response splitting). */
function validateReturnHeaders(r: Redirect, at: string): void {
  for (const kv of r.MirrorReturnHeaders?.ReturnHeader ?? []) {
    if (!kv.Key || !HEADER_NAME.test(kv.Key))
      throw invalid(`${at}: MirrorReturnHeaders/ReturnHeader/Key '${kv.Key ?? ''}' is not a valid header name.`);
    if (kv.Value !== undefined && /[\r\n\0]/.test(kv.Value))
      throw invalid(`${at}: MirrorReturnHeaders/ReturnHeader/Value for '${kv.Key}' must not contain CR, LF or NUL.`);
  }
}

/**
 * GET-01: the defaults OSS reports for a Mirror rule, filled in when the rule is stored. Filling
 * MirrorPassQueryString with PassQueryString's value keeps MIR-07 (it wins when present, and
 * PassQueryString applies when it is absent), so a GET-then-PUT round trip never changes behaviour.
 */
function withGetDefaults(r: Redirect): Redirect {
  return {
    ...r,
    PassQueryString: r.PassQueryString ?? false,
    MirrorPassQueryString: r.MirrorPassQueryString ?? r.PassQueryString ?? false,
    MirrorFollowRedirect: r.MirrorFollowRedirect ?? true,
    MirrorCheckMd5: r.MirrorCheckMd5 ?? false,
    MirrorHeaders: { ...(r.MirrorHeaders ?? {}), PassAll: r.MirrorHeaders?.PassAll ?? false },
  };
}

/** S3 dialect (§7.1): no RuleNumber, optional Condition, a Redirect with at least one field. */
export function validateS3Rule(raw: RawRule, i: number): RoutingRule {
  const at = `RoutingRule #${i + 1}`;
  const redirect: RawRedirect | undefined = raw.Redirect;
  if (redirect === undefined) throw invalid(`${at}: Redirect is required.`);
  const { Protocol, HostName, ReplaceKeyPrefixWith, ReplaceKeyWith, HttpRedirectCode } = redirect;
  if (
    Protocol === undefined &&
    HostName === undefined &&
    ReplaceKeyPrefixWith === undefined &&
    ReplaceKeyWith === undefined &&
    HttpRedirectCode === undefined
  ) {
    throw invalid(`${at}: Redirect needs at least one of Protocol, HostName, ReplaceKeyPrefixWith, ReplaceKeyWith and HttpRedirectCode.`);
  }
  if (ReplaceKeyWith !== undefined && ReplaceKeyPrefixWith !== undefined)
    throw invalid(`${at}: ReplaceKeyWith and ReplaceKeyPrefixWith cannot both be set.`);
  checkProtocol(Protocol, `${at}: Redirect/Protocol`);
  if (HostName !== undefined) checkHost(HostName, at);
  if (HttpRedirectCode !== undefined && ![301, 302, 303, 307, 308].includes(HttpRedirectCode)) {
    throw invalid(`${at}: Redirect/HttpRedirectCode must be a redirect status (301, 302, 303, 307 or 308), not ${HttpRedirectCode}.`);
  }
  checkErrorCode(raw.Condition?.HttpErrorCodeReturnedEquals, at);
  // one model (XML-05, XML-06): S3 rules are External redirects numbered in document order
  return { ...raw, RuleNumber: i + 1, Redirect: { ...redirect, RedirectType: 'External' } };
}
