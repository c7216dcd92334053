/**
 * The form for one Mirror or Redirect rule. It edits a copy of the rule: fields the form does not
 * show are kept as they were. Nothing is checked here: the server's validator (the same one PUT
 * ?website uses) answers, and its message is shown as is.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox } from '../components';
import { CheckField, SelectField, TextArea, TextField } from '../fields';
import type { IncludeHeader, KeyValue, RedirectType, Rule } from '../types';

type R = Rule['Redirect'];
type C = NonNullable<Rule['Condition']>;

const MIRROR_ONLY = [
  'MirrorURL',
  'MirrorURLSlave',
  'MirrorPassQueryString',
  'MirrorFollowRedirect',
  'MirrorCheckMd5',
  'MirrorProxyPass',
  'MirrorAllowHeadObject',
  'MirrorSaveOssMeta',
  'MirrorUserLastModified',
  'MirrorSwitchAllErrors',
  'TransparentMirrorResponseCodes',
  'MirrorHeaders',
];
const REDIRECT_ONLY = ['Protocol', 'HostName', 'HttpRedirectCode', 'PassQueryString'];

function setOpt<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined | ''): T {
  const next = { ...o };
  if (v === undefined || v === '') delete next[k];
  else next[k] = v;
  return next;
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const setLines = (kvs: KeyValue[] | undefined) => (kvs ?? []).map((kv) => `${kv.Key ?? ''}: ${kv.Value ?? ''}`).join('\n');
function parseSetLines(s: string): KeyValue[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(':');
      return i < 0 ? { Key: l, Value: '' } : { Key: l.slice(0, i).trim(), Value: l.slice(i + 1).trim() };
    });
}

type MatchKind = 'Equals' | 'StartsWith' | 'EndsWith';
function matchOf(h: IncludeHeader): [MatchKind, string] {
  if (h.StartsWith !== undefined) return ['StartsWith', h.StartsWith];
  if (h.EndsWith !== undefined) return ['EndsWith', h.EndsWith];
  return ['Equals', h.Equals ?? ''];
}

export function RuleEditor({
  initial,
  isNew,
  onSave,
  onCancel,
  error,
  dialect,
}: {
  initial: Rule;
  isNew: boolean;
  onSave: (r: Rule) => Promise<void>;
  onCancel: () => void;
  error: unknown;
  dialect: 'oss' | 's3';
}) {
  const [rule, setRule] = useState<Rule>(initial);
  const [busy, setBusy] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  const c: C = rule.Condition ?? {};
  const d: R = rule.Redirect;
  const setC = (next: C) => setRule({ ...rule, Condition: next });
  const setD = (next: R) => setRule({ ...rule, Redirect: next });
  const type = d.RedirectType;
  const isMirror = type === 'Mirror';
  const headers = c.IncludeHeader ?? [];

  const changeType = (t: RedirectType) => {
    let next: R = { ...d, RedirectType: t };
    const drop = t === 'Mirror' ? REDIRECT_ONLY : t === 'Internal' ? [...MIRROR_ONLY, ...REDIRECT_ONLY] : MIRROR_ONLY;
    for (const k of drop) delete next[k];
    if (t === 'External' || t === 'AliCDN') next = { Protocol: 'https', HttpRedirectCode: 302, ...next };
    setRule({ ...rule, Redirect: next, Condition: t === 'Mirror' ? { ...c, HttpErrorCodeReturnedEquals: 404 } : c });
  };
  const setHeader = (i: number, h: IncludeHeader) =>
    setC(
      setOpt(
        c,
        'IncludeHeader',
        headers.map((x, j) => (j === i ? h : x)),
      ),
    );

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await onSave(rule);
    } finally {
      setBusy(false);
    }
  };
  const mh = d.MirrorHeaders ?? {};
  const setMh = (next: NonNullable<R['MirrorHeaders']>) =>
    setD(setOpt(d, 'MirrorHeaders', Object.keys(next).length > 0 ? next : undefined));
  const title = `${isNew ? 'Add' : 'Edit'} ${isMirror ? 'Mirror' : 'Redirect'} rule${isNew ? '' : ` ${rule.RuleNumber}`}`;
  return (
    <form class="panel editor" onSubmit={(e) => void submit(e)} aria-labelledby="rule-editor-title">
      <h2 id="rule-editor-title" tabIndex={-1} ref={headingRef}>
        {title}
      </h2>
      <ErrorBox error={error} id="rule-error" />
      <fieldset>
        <legend>Rule</legend>
        <div class="grid">
          {dialect === 'oss' && (
            <TextField
              id="rule-number"
              label="Rule number (order)"
              type="number"
              value={rule.RuleNumber}
              onValue={(v) => setRule({ ...rule, RuleNumber: v === '' ? Number.NaN : Number(v) })}
              hint="Rules are tried in ascending order."
            />
          )}
          <SelectField
            id="rule-type"
            label="Action"
            value={type}
            onValue={(v) => changeType(v as RedirectType)}
            options={[
              ['Mirror', 'Mirror (fetch from origin)'],
              ['External', 'External redirect'],
              ['AliCDN', 'AliCDN redirect'],
              ['Internal', 'Internal (serve another key)'],
            ]}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>When</legend>
        <div class="grid">
          <TextField
            id="cond-prefix"
            label="Key starts with"
            value={c.KeyPrefixEquals}
            placeholder="images/"
            onValue={(v) => setC(setOpt(c, 'KeyPrefixEquals', v))}
          />
          <TextField
            id="cond-suffix"
            label="Key ends with"
            value={c.KeySuffixEquals}
            placeholder=".jpg"
            onValue={(v) => setC(setOpt(c, 'KeySuffixEquals', v))}
          />
          <TextField
            id="cond-code"
            label="HTTP status condition"
            type="number"
            value={c.HttpErrorCodeReturnedEquals}
            placeholder="404"
            hint={isMirror ? 'Mirror rules apply to missing objects: 404.' : 'Empty: before the lookup, even for existing objects.'}
            onValue={(v) => setC(setOpt(c, 'HttpErrorCodeReturnedEquals', v === '' ? undefined : Number(v)))}
          />
        </div>
        <div class="subhead">
          <h3 id="include-headers">Request headers</h3>
          <button type="button" onClick={() => setC({ ...c, IncludeHeader: [...headers, { Key: '', Equals: '' }] })}>
            Add header condition
          </button>
        </div>
        {headers.length === 0 && <p class="muted">No header conditions.</p>}
        {headers.map((h, i) => {
          const [kind, val] = matchOf(h);
          return (
            <div class="grid header-row" key={i} role="group" aria-label={`Header condition ${i + 1}`}>
              <TextField id={`hdr-${i}-name`} label="Header name" value={h.Key} onValue={(v) => setHeader(i, { ...h, Key: v })} />
              <SelectField
                id={`hdr-${i}-kind`}
                label="Match"
                value={kind}
                options={[
                  ['Equals', 'equals'],
                  ['StartsWith', 'starts with'],
                  ['EndsWith', 'ends with'],
                ]}
                onValue={(k) => setHeader(i, { Key: h.Key ?? '', [k]: val })}
              />
              <TextField id={`hdr-${i}-value`} label="Value" value={val} onValue={(v) => setHeader(i, { Key: h.Key ?? '', [kind]: v })} />
              <button
                type="button"
                class="danger"
                onClick={() =>
                  setC(
                    setOpt(
                      c,
                      'IncludeHeader',
                      headers.filter((_, j) => j !== i),
                    ),
                  )
                }
              >
                Remove header condition {i + 1}
              </button>
            </div>
          );
        })}
      </fieldset>
      {isMirror ? (
        <fieldset>
          <legend>Origin</legend>
          <div class="grid">
            <TextField
              id="mirror-url"
              label="Origin URL (MirrorURL)"
              value={d.MirrorURL}
              placeholder="https://origin.example.com/"
              wide
              hint="The key is appended to it: MirrorURL + key. http(s)://host/ and a path ending in '/'."
              onValue={(v) => setD(setOpt(d, 'MirrorURL', v))}
            />
            <TextField
              id="mirror-url-slave"
              label="Secondary origin URL (MirrorURLSlave)"
              value={d.MirrorURLSlave}
              wide
              onValue={(v) => setD(setOpt(d, 'MirrorURLSlave', v))}
            />
            <TextField
              id="mirror-replace-key"
              label="Origin key (ReplaceKeyWith)"
              value={d.ReplaceKeyWith}
              placeholder="${key}"
              hint="Optional; ${key} stands for the requested key."
              onValue={(v) => setD(setOpt(d, 'ReplaceKeyWith', v))}
            />
            <TextField
              id="mirror-transparent"
              label="Statuses passed through (TransparentMirrorResponseCodes)"
              value={d.TransparentMirrorResponseCodes}
              placeholder="400,403"
              onValue={(v) => setD(setOpt(d, 'TransparentMirrorResponseCodes', v))}
            />
          </div>
          <div class="checks">
            <CheckField
              id="mirror-follow"
              label="Follow origin redirects"
              value={d.MirrorFollowRedirect !== false}
              onValue={(v) => setD({ ...d, MirrorFollowRedirect: v })}
            />
            <CheckField
              id="mirror-query"
              label="Pass the query string"
              value={d.MirrorPassQueryString === true}
              onValue={(v) => setD(setOpt(d, 'MirrorPassQueryString', v || undefined))}
            />
            <CheckField
              id="mirror-md5"
              label="Check Content-MD5"
              value={d.MirrorCheckMd5 === true}
              onValue={(v) => setD(setOpt(d, 'MirrorCheckMd5', v || undefined))}
            />
            <CheckField
              id="mirror-proxy"
              label="Proxy only, do not store"
              value={d.MirrorProxyPass === true}
              onValue={(v) => setD(setOpt(d, 'MirrorProxyPass', v || undefined))}
            />
            <CheckField
              id="mirror-head"
              label="HEAD asks the origin"
              value={d.MirrorAllowHeadObject === true}
              onValue={(v) => setD(setOpt(d, 'MirrorAllowHeadObject', v || undefined))}
            />
            <CheckField
              id="mirror-meta"
              label="Keep the origin's x-oss-meta-*"
              value={d.MirrorSaveOssMeta === true}
              onValue={(v) => setD(setOpt(d, 'MirrorSaveOssMeta', v || undefined))}
            />
            <CheckField
              id="mirror-lm"
              label="Keep the origin's Last-Modified"
              value={d.MirrorUserLastModified === true}
              onValue={(v) => setD(setOpt(d, 'MirrorUserLastModified', v || undefined))}
            />
            <CheckField
              id="mirror-switch"
              label="Fail over on any unexpected status"
              value={d.MirrorSwitchAllErrors === true}
              onValue={(v) => setD(setOpt(d, 'MirrorSwitchAllErrors', v || undefined))}
            />
          </div>
          <h3>Headers sent to the origin</h3>
          <div class="grid">
            <CheckField
              id="mh-passall"
              label="Pass all client headers"
              value={mh.PassAll === true}
              onValue={(v) => setMh(setOpt(mh, 'PassAll', v || undefined))}
            />
            <TextField
              id="mh-pass"
              label="Pass these client headers"
              value={(mh.Pass ?? []).join(', ')}
              placeholder="Accept, X-Request-Id"
              onValue={(v) => setMh(setOpt(mh, 'Pass', list(v).length ? list(v) : undefined))}
            />
            <TextField
              id="mh-remove"
              label="Never pass these headers"
              value={(mh.Remove ?? []).join(', ')}
              onValue={(v) => setMh(setOpt(mh, 'Remove', list(v).length ? list(v) : undefined))}
            />
            <TextArea
              id="mh-set"
              label="Set headers (one “Name: value” a line)"
              rows={3}
              value={setLines(mh.Set)}
              onValue={(v) => setMh(setOpt(mh, 'Set', parseSetLines(v).length ? parseSetLines(v) : undefined))}
            />
          </div>
        </fieldset>
      ) : (
        <fieldset>
          <legend>{type === 'Internal' ? 'Serve instead' : 'Redirect to'}</legend>
          <div class="grid">
            {type !== 'Internal' && (
              <>
                <SelectField
                  id="redir-protocol"
                  label="Protocol"
                  value={d.Protocol ?? ''}
                  options={[
                    ['', '(choose)'],
                    ['https', 'https'],
                    ['http', 'http'],
                  ]}
                  onValue={(v) => setD(setOpt(d, 'Protocol', v))}
                />
                <TextField
                  id="redir-host"
                  label="Host name"
                  value={d.HostName}
                  placeholder="www.example.com"
                  onValue={(v) => setD(setOpt(d, 'HostName', v))}
                />
                <SelectField
                  id="redir-code"
                  label="Status"
                  value={String(d.HttpRedirectCode ?? '')}
                  options={[
                    ['', '(default)'],
                    ['301', '301 Moved Permanently'],
                    ['302', '302 Found'],
                    ['307', '307 Temporary Redirect'],
                  ]}
                  onValue={(v) => setD(setOpt(d, 'HttpRedirectCode', v === '' ? undefined : Number(v)))}
                />
              </>
            )}
            <TextField
              id="redir-key"
              label="Replace the key with (ReplaceKeyWith)"
              value={d.ReplaceKeyWith}
              placeholder="login?next=${key}"
              onValue={(v) => setD(setOpt(d, 'ReplaceKeyWith', v))}
            />
            <TextField
              id="redir-prefix"
              label="Replace the key prefix with (ReplaceKeyPrefixWith)"
              value={d.ReplaceKeyPrefixWith}
              onValue={(v) => setD(setOpt(d, 'ReplaceKeyPrefixWith', v))}
            />
            {type !== 'Internal' && (
              <CheckField
                id="redir-query"
                label="Keep the query string"
                value={d.PassQueryString === true}
                onValue={(v) => setD(setOpt(d, 'PassQueryString', v || undefined))}
              />
            )}
          </div>
        </fieldset>
      )}
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save rule'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
