/** Reading rules for people: what a rule's condition says and what it does, in one line each. */
import type { Rule } from './types';

export function describeCondition(r: Rule): string {
  const c = r.Condition ?? {};
  const parts: string[] = [];
  if (c.KeyPrefixEquals) parts.push(`key starts with “${c.KeyPrefixEquals}”`);
  if (c.KeySuffixEquals) parts.push(`key ends with “${c.KeySuffixEquals}”`);
  if (c.HttpErrorCodeReturnedEquals !== undefined) parts.push(c.HttpErrorCodeReturnedEquals === 404 ? 'object is missing (404)' : `answer would be ${c.HttpErrorCodeReturnedEquals}`);
  for (const h of c.IncludeHeader ?? []) {
    if (h.Equals !== undefined) parts.push(`header ${h.Key ?? '?'} = “${h.Equals}”`);
    else if (h.StartsWith !== undefined) parts.push(`header ${h.Key ?? '?'} starts with “${h.StartsWith}”`);
    else if (h.EndsWith !== undefined) parts.push(`header ${h.Key ?? '?'} ends with “${h.EndsWith}”`);
  }
  return parts.length > 0 ? parts.join(' and ') : 'every request';
}

function keyPart(r: Rule): string {
  const d = r.Redirect;
  if (d.ReplaceKeyWith) return d.ReplaceKeyWith;
  if (d.ReplaceKeyPrefixWith !== undefined) return `${d.ReplaceKeyPrefixWith}…(rest of key)`;
  return '${key}';
}

export function describeAction(r: Rule): string {
  const d = r.Redirect;
  switch (d.RedirectType) {
    case 'Mirror': {
      const extra = [d.MirrorURLSlave ? `then ${d.MirrorURLSlave}` : '', d.MirrorProxyPass ? 'proxy only (not stored)' : ''].filter(Boolean).join(', ');
      return `Fetch from ${d.MirrorURL ?? '?'}${d.ReplaceKeyWith ? d.ReplaceKeyWith : '${key}'}${extra ? ` (${extra})` : ''}`;
    }
    case 'Internal':
      return `Serve ${keyPart(r)} from this bucket`;
    default:
      return `${d.HttpRedirectCode ?? 302} to ${d.Protocol ?? 'http'}://${d.HostName ?? '?'}/${keyPart(r)}${d.PassQueryString ? ' (query kept)' : ''}`;
  }
}
