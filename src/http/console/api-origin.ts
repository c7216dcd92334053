/**
 * @module http/console/api-origin
 * The console's back-to-origin calls: a bucket's website configuration as the rule model (read,
 * replace from the edited model or from XML, export, delete), the rule simulator, and the mirror
 * activity feed. The simulator asks the read service (service/read.ts), which explains the decision
 * its read path carries out. Every write goes through WebsiteService.put, i.e. through the same XML parser and
 * validator as PUT ?website, so the console shows the API's own messages.
 */
import { S3Error } from '../../errors.js';
import { buildXml } from '../../codec/xml.js';
import { WEBSITE, firstOssOnlyElement, writeXml } from '../../rules/schema.js';
import type { WebsiteConfig } from '../../rules/rules.js';
import { MASKED_SECRET, serializeWebsiteXml } from '../../rules/rules.js';
import type { ApiCall } from './http.js';
import { bucketParam, methodNotAllowed, readJsonBody, sendJson, str } from './http.js';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The model as the page gets it: MirrorAuth secrets masked, as GET ?website masks them (GET-03). */
function masked(cfg: WebsiteConfig): WebsiteConfig {
  return {
    ...cfg,
    RoutingRules: cfg.RoutingRules.map((r) =>
      r.Redirect.MirrorAuth?.AccessKeySecret !== undefined
        ? { ...r, Redirect: { ...r.Redirect, MirrorAuth: { ...r.Redirect.MirrorAuth, AccessKeySecret: MASKED_SECRET } } }
        : r,
    ),
  };
}

/**
 * The edited model -> a PUT ?website body. The configuration keeps its S3 dialect while every rule
 * is still expressible in S3's schema (External redirects, no OSS-only element); anything else is
 * written in OSS dialect with the RuleNumbers the page assigned. The schema writer emits declared
 * elements only; the parser then validates the result like any client's body.
 */
export function modelToXml(model: Record<string, unknown>): string {
  const rules = Array.isArray(model.RoutingRules)
    ? model.RoutingRules.map((r: unknown) => (r !== null && typeof r === 'object' ? (r as Record<string, unknown>) : {}))
    : [];
  const top = { IndexDocument: model.IndexDocument, ErrorDocument: model.ErrorDocument };
  if (model.dialect === 's3') {
    const s3Rules = rules.map(({ RuleNumber: _n, Redirect, ...rest }) => {
      const { RedirectType: _t, ...redirect } = (Redirect ?? {}) as Record<string, unknown>;
      return { ...rest, Redirect: redirect };
    });
    const allExternal = rules.every((r) => ((r.Redirect ?? {}) as Record<string, unknown>).RedirectType === 'External');
    const doc = { ...top, ...(s3Rules.length > 0 && { RoutingRules: { RoutingRule: s3Rules } }) };
    if (allExternal && firstOssOnlyElement(doc, WEBSITE.type, 'WebsiteConfiguration') === undefined) {
      return buildXml({ WebsiteConfiguration: { '@_xmlns': S3_NS, ...writeXml(doc, WEBSITE.type) } });
    }
  }
  const doc = { ...top, ...(rules.length > 0 && { RoutingRules: { RoutingRule: rules } }) };
  return buildXml({ WebsiteConfiguration: writeXml(doc, WEBSITE.type) });
}

async function websiteState(call: ApiCall, bucket: string) {
  const cfg = await call.deps.website.get(bucket);
  return {
    bucket,
    configured: cfg !== undefined,
    config: cfg ? masked(cfg) : null,
    xml: cfg ? serializeWebsiteXml(cfg) : null,
    maxRules: call.deps.config.maxRoutingRules,
  };
}

/** /buckets/:b/website: GET the model and its XML; PUT {config} or {xml}; DELETE. */
export async function website(call: ApiCall): Promise<void> {
  const { ctx, deps, method } = call;
  const bucket = bucketParam(call);
  if (method === 'GET') {
    // NoSuchBucket from the website service when the bucket does not exist
    sendJson(ctx, 200, await websiteState(call, bucket));
    return;
  }
  if (method === 'PUT') {
    const body = await readJsonBody(ctx);
    let xml: string;
    if (typeof body.xml === 'string') xml = body.xml;
    else if (body.config !== null && typeof body.config === 'object' && !Array.isArray(body.config))
      xml = modelToXml(body.config as Record<string, unknown>);
    else throw new S3Error('InvalidArgument', { message: 'Send {"config": {...}} or {"xml": "<WebsiteConfiguration>…"}.' });
    await deps.website.put(bucket, xml);
    sendJson(ctx, 200, await websiteState(call, bucket));
    return;
  }
  if (method === 'DELETE') {
    await deps.website.delete(bucket); // NoSuchBucket when the bucket does not exist
    sendJson(ctx, 200, await websiteState(call, bucket));
    return;
  }
  throw methodNotAllowed(call);
}

/**
 * POST /explain {bucket, key, method?, headers?, status?, website?}: the rule simulator, as
 * POST /-/rules/explain answers it (nothing fetched, nothing changed).
 */
export async function simulate(call: ApiCall): Promise<void> {
  const { ctx, deps } = call;
  if (call.method !== 'POST') throw methodNotAllowed(call);
  const body = await readJsonBody(ctx, 64 * 1024);
  const bucket = str(body.bucket, 'bucket');
  const key = str(body.key, 'key');
  const headers: Record<string, string> = {};
  if (body.headers && typeof body.headers === 'object') {
    for (const [k, v] of Object.entries(body.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  // the read service explains the decision its read path carries out (status 404: "as if missing")
  const result = await deps.reads.explain({
    bucket,
    key,
    headers,
    method: typeof body.method === 'string' && body.method !== '' ? body.method.toUpperCase() : 'GET',
    query: typeof body.query === 'string' ? body.query : '',
    websiteMode: body.website === true,
    ...(typeof body.status === 'number' && { status: body.status }),
  });
  sendJson(ctx, 200, result);
}

/** GET /activity: recent origin fetches and the fills in progress (the page polls it). */
export function activity(call: ApiCall): void {
  if (call.method !== 'GET') throw methodNotAllowed(call);
  sendJson(call.ctx, 200, { now: new Date().toISOString(), ...call.deps.reads.fills() });
}
