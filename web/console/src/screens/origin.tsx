/**
 * Back-to-origin: a bucket's index and error documents and its ordered rules as a table; add, edit,
 * reorder and delete Mirror and Redirect rules; import and export the XML. Every change is sent as
 * the whole configuration and validated by the server exactly as PUT ?website would be.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, enc } from '../api';
import { BucketHeader, ConfirmButton, ErrorBox, Status, TableWrap } from '../components';
import { CheckField, SelectField, TextArea, TextField } from '../fields';
import { describeAction, describeCondition, prettyXml } from '../rules';
import type { Rule, WebsiteConfig, WebsiteState } from '../types';
import { RuleEditor } from './rule-editor';

const EMPTY: WebsiteConfig = { dialect: 'oss', RoutingRules: [] };

function isEmpty(c: WebsiteConfig): boolean {
  return !c.IndexDocument && !c.ErrorDocument && c.RoutingRules.length === 0 && !c.RedirectAllRequestsTo;
}

function newRule(kind: 'mirror' | 'redirect', number: number): Rule {
  return kind === 'mirror'
    ? {
        RuleNumber: number,
        Condition: { HttpErrorCodeReturnedEquals: 404 },
        Redirect: { RedirectType: 'Mirror', MirrorFollowRedirect: true },
      }
    : {
        RuleNumber: number,
        Condition: { HttpErrorCodeReturnedEquals: 404 },
        Redirect: { RedirectType: 'External', Protocol: 'https', HttpRedirectCode: 302 },
      };
}

export function OriginScreen({ bucket }: { bucket: string }) {
  const [state, setState] = useState<WebsiteState | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const [editing, setEditing] = useState<{ rule: Rule; index: number | null } | null>(null);
  const [editorError, setEditorError] = useState<unknown>(null);
  const [importXml, setImportXml] = useState('');
  const [importError, setImportError] = useState<unknown>(null);

  const path = `buckets/${enc(bucket)}/website`;
  useEffect(() => {
    setState(null);
    setEditing(null);
    api<WebsiteState>('GET', path).then(setState, setError);
  }, [bucket]);

  const cfg = state?.config ?? EMPTY;

  /** Store a whole new configuration; the server's validation message comes back as the error. */
  const store = async (next: WebsiteConfig, done: string): Promise<boolean> => {
    setError(null);
    setStatus('');
    const s = isEmpty(next) ? await api<WebsiteState>('DELETE', path) : await api<WebsiteState>('PUT', path, { config: next });
    setState(s);
    setStatus(done);
    return true;
  };
  const storeOrShow = (next: WebsiteConfig, done: string) =>
    store(next, done).catch((e: unknown) => {
      setError(e);
      return false;
    });

  const saveRule = async (rule: Rule) => {
    if (!editing) return;
    const rules = [...cfg.RoutingRules];
    if (editing.index === null) rules.push(rule);
    else rules[editing.index] = rule;
    if (cfg.dialect === 's3') rules.forEach((r, i) => (r.RuleNumber = i + 1));
    rules.sort((a, b) => a.RuleNumber - b.RuleNumber);
    setEditorError(null);
    try {
      await store({ ...cfg, RoutingRules: rules }, editing.index === null ? 'Rule added.' : `Rule ${rule.RuleNumber} saved.`);
      setEditing(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      setEditorError(e);
    }
  };

  const move = (i: number, by: -1 | 1) => {
    const rules = [...cfg.RoutingRules];
    const [r] = rules.splice(i, 1);
    if (!r) return;
    rules.splice(i + by, 0, r);
    void storeOrShow(
      { ...cfg, RoutingRules: rules.map((x, j) => ({ ...x, RuleNumber: j + 1 })) },
      `Rule moved ${by < 0 ? 'up' : 'down'}; rules renumbered 1–${rules.length}.`,
    );
  };

  const remove = (i: number) => {
    const rules = cfg.RoutingRules.filter((_, j) => j !== i);
    void storeOrShow({ ...cfg, RoutingRules: rules }, 'Rule deleted.');
  };

  const doImport = async () => {
    setImportError(null);
    try {
      setState(await api<WebsiteState>('PUT', path, { xml: importXml }));
      setStatus('Configuration imported.');
      setImportXml('');
    } catch (e) {
      setImportError(e);
    }
  };

  const maxNumber = cfg.RoutingRules.reduce((m, r) => Math.max(m, r.RuleNumber), 0);
  return (
    <section aria-labelledby="screen-title">
      <BucketHeader bucket={bucket} tab="origin" />
      <ErrorBox error={error} />
      {status && <Status>{status}</Status>}
      {state === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <Documents key={state.xml ?? 'none'} cfg={cfg} onSave={(next) => void storeOrShow(next, 'Documents saved.')} />
          <section aria-labelledby="rules-title">
            <div class="subhead">
              <h2 id="rules-title">
                Rules{' '}
                <span class="muted">
                  ({cfg.RoutingRules.length} of at most {state.maxRules}
                  {cfg.dialect === 's3' ? ', S3 dialect' : ''})
                </span>
              </h2>
              <div class="buttons">
                <button
                  type="button"
                  class="primary"
                  onClick={() => {
                    setEditorError(null);
                    setEditing({ rule: newRule('mirror', maxNumber + 1), index: null });
                  }}
                >
                  Add Mirror rule
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setEditorError(null);
                    setEditing({ rule: newRule('redirect', maxNumber + 1), index: null });
                  }}
                >
                  Add Redirect rule
                </button>
              </div>
            </div>
            {cfg.dialect === 's3' && (
              <p class="hint">
                This configuration was written in S3's dialect. It stays so while every rule is a plain redirect; a Mirror rule or an
                OSS-only option stores it in OSS dialect.
              </p>
            )}
            {cfg.RoutingRules.length === 0 ? (
              <p class="empty">No rules: missing keys answer NoSuchKey.</p>
            ) : (
              <TableWrap label="Routing rules">
                <table class="data rules stack">
                  <caption class="sr-only">Routing rules of {bucket}, in the order they are tried</caption>
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Type</th>
                      <th scope="col">When</th>
                      <th scope="col">Then</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {cfg.RoutingRules.map((r, i) => (
                      <tr key={`${r.RuleNumber}-${i}`}>
                        <th scope="row">{r.RuleNumber}</th>
                        <td data-label="Type">
                          <span class={`badge ${r.Redirect.RedirectType === 'Mirror' ? 'mirror' : ''}`}>{r.Redirect.RedirectType}</span>
                        </td>
                        <td data-label="When">{describeCondition(r)}</td>
                        <td class="break" data-label="Then">
                          {describeAction(r)}
                        </td>
                        <td class="actions">
                          <button type="button" disabled={i === 0} aria-label={`Move rule ${r.RuleNumber} up`} onClick={() => move(i, -1)}>
                            ↑
                          </button>
                          <button
                            type="button"
                            disabled={i === cfg.RoutingRules.length - 1}
                            aria-label={`Move rule ${r.RuleNumber} down`}
                            onClick={() => move(i, 1)}
                          >
                            ↓
                          </button>
                          <button
                            type="button"
                            aria-label={`Edit rule ${r.RuleNumber}`}
                            onClick={() => {
                              setEditorError(null);
                              setEditing({ rule: structuredClone(r), index: i });
                            }}
                          >
                            Edit
                          </button>
                          <ConfirmButton
                            label="Delete"
                            describe={`rule ${r.RuleNumber}`}
                            confirmLabel="Delete rule"
                            onConfirm={() => remove(i)}
                          />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </section>
          {editing && (
            <RuleEditor
              key={`${editing.index ?? 'new'}-${editing.rule.RuleNumber}-${editing.rule.Redirect.RedirectType}`}
              initial={editing.rule}
              isNew={editing.index === null}
              dialect={cfg.dialect}
              error={editorError}
              onSave={saveRule}
              onCancel={() => setEditing(null)}
            />
          )}
          <section aria-labelledby="xml-title" class="xml">
            <h2 id="xml-title">XML</h2>
            <div class="two">
              <div>
                <TextArea
                  id="export-xml"
                  label="Current configuration (export)"
                  rows={12}
                  readOnly
                  nowrap
                  value={state.xml ? prettyXml(state.xml) : '(no configuration)'}
                />
                {state.xml && (
                  <a
                    class="button"
                    download={`${bucket}-website.xml`}
                    href={`data:application/xml;charset=utf-8,${encodeURIComponent(state.xml)}`}
                  >
                    Download XML
                  </a>
                )}
                {state.configured && (
                  <ConfirmButton
                    label="Remove the whole configuration"
                    confirmLabel="Remove it"
                    onConfirm={() => storeOrShow(EMPTY, 'Configuration removed.').then(() => undefined)}
                  />
                )}
              </div>
              <div>
                <TextArea
                  id="import-xml"
                  label="Import (replaces the whole configuration)"
                  rows={10}
                  value={importXml}
                  onValue={setImportXml}
                  hint="A PutBucketWebsite body, OSS or S3 dialect."
                />
                <div class="field">
                  <label for="import-file">Or load a file</label>
                  <input
                    id="import-file"
                    type="file"
                    accept=".xml,application/xml,text/xml"
                    onChange={(e) => {
                      const f = e.currentTarget.files?.[0];
                      if (f) void f.text().then(setImportXml);
                    }}
                  />
                </div>
                <ErrorBox error={importError} id="import-error" />
                <button type="button" class="primary" disabled={importXml.trim() === ''} onClick={() => void doImport()}>
                  Import XML
                </button>
              </div>
            </div>
          </section>
        </>
      )}
    </section>
  );
}

function Documents({ cfg, onSave }: { cfg: WebsiteConfig; onSave: (c: WebsiteConfig) => void }) {
  const [suffix, setSuffix] = useState(cfg.IndexDocument?.Suffix ?? '');
  const [subDir, setSubDir] = useState(cfg.IndexDocument?.SupportSubDir === true);
  const [type, setType] = useState(String(cfg.IndexDocument?.Type ?? ''));
  const [errKey, setErrKey] = useState(cfg.ErrorDocument?.Key ?? '');
  const [errStatus, setErrStatus] = useState(cfg.ErrorDocument?.HttpStatus === undefined ? '' : String(cfg.ErrorDocument.HttpStatus));
  const submit = (e: Event) => {
    e.preventDefault();
    const next: WebsiteConfig = { ...cfg };
    delete next.IndexDocument;
    delete next.ErrorDocument;
    if (suffix.trim() !== '')
      next.IndexDocument = {
        ...cfg.IndexDocument,
        Suffix: suffix.trim(),
        ...(subDir ? { SupportSubDir: true } : { SupportSubDir: undefined }),
        Type: type === '' ? undefined : Number(type),
      };
    if (errKey.trim() !== '') next.ErrorDocument = { Key: errKey.trim(), ...(errStatus !== '' && { HttpStatus: Number(errStatus) }) };
    onSave(JSON.parse(JSON.stringify(next)) as WebsiteConfig);
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="docs-title">
      <h2 id="docs-title">Index and error documents</h2>
      <div class="grid">
        <TextField
          id="index-suffix"
          label="Index document"
          value={suffix}
          placeholder="index.html"
          onValue={setSuffix}
          hint="Served for dir/ to anonymous and bound-domain visitors."
        />
        <SelectField
          id="index-type"
          label="Directory without index (Type)"
          value={type}
          onValue={setType}
          options={[
            ['', '(default)'],
            ['0', '0: redirect to dir/ when it has an index'],
            ['1', '1: NoSuchKey'],
            ['2', '2: serve dir/ index directly'],
          ]}
        />
        <TextField id="error-key" label="Error document" value={errKey} placeholder="error.html" onValue={setErrKey} />
        <TextField
          id="error-status"
          label="Error document status"
          type="number"
          value={errStatus}
          placeholder="404"
          onValue={setErrStatus}
        />
      </div>
      <CheckField id="index-subdir" label="Index documents in sub-directories (SupportSubDir)" value={subDir} onValue={setSubDir} />
      <div class="buttons">
        <button type="submit">Save documents</button>
      </div>
    </form>
  );
}
