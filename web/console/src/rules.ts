/** Reading rules for people: what a rule's condition says and what it does, in one line each. */
import type { Rule } from './types';

export function describeCondition(r: Rule): string {
  const c = r.Condition ?? {};
  const parts: string[] = [];
  if (c.KeyPrefixEquals) parts.push(`key starts with “${c.KeyPrefixEquals}”`);
  if (c.KeySuffixEquals) parts.push(`key ends with “${c.KeySuffixEquals}”`);
  if (c.HttpErrorCodeReturnedEquals !== undefined)
    parts.push(c.HttpErrorCodeReturnedEquals === 404 ? 'object is missing (404)' : `answer would be ${c.HttpErrorCodeReturnedEquals}`);
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
      const extra = [d.MirrorURLSlave ? `then ${d.MirrorURLSlave}` : '', d.MirrorProxyPass ? 'proxy only (not stored)' : '']
        .filter(Boolean)
        .join(', ');
      return `Fetch from ${d.MirrorURL ?? '?'}${d.ReplaceKeyWith ? d.ReplaceKeyWith : '${key}'}${extra ? ` (${extra})` : ''}`;
    }
    case 'Internal':
      return `Serve ${keyPart(r)} from this bucket`;
    default:
      return `${d.HttpRedirectCode ?? 302} to ${d.Protocol ?? 'http'}://${d.HostName ?? '?'}/${keyPart(r)}${d.PassQueryString ? ' (query kept)' : ''}`;
  }
}

/** Indent an XML document for reading (display only: what is downloaded is byte for byte the server's). */
export function prettyXml(xml: string): string {
  const out: string[] = [];
  let depth = 0;
  const tokens = xml.replace(/>\s+</g, '><').match(/<[^>]+>|[^<]+/g) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    const pad = '  '.repeat(depth);
    if (t.startsWith('<?') || t.startsWith('<!')) out.push(pad + t);
    else if (t.startsWith('</')) {
      depth = Math.max(0, depth - 1);
      out.push('  '.repeat(depth) + t);
    } else if (t.startsWith('<') && t.endsWith('/>')) out.push(pad + t);
    else if (t.startsWith('<')) {
      const text = tokens[i + 1];
      const close = tokens[i + 2];
      if (text !== undefined && !text.startsWith('<') && close?.startsWith('</')) {
        out.push(pad + t + text + close); // <a>text</a> on one line
        i += 2;
      } else {
        out.push(pad + t);
        depth++;
      }
    } else out.push(pad + t.trim());
  }
  return out.join('\n');
}
