/**
 * The rule simulator: a key, a method and headers in; which rule fires and why the earlier ones did
 * not, the redirect Location or the origin URL, and the headers a mirror would send. Nothing is
 * fetched and nothing changes.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorBox, TableWrap } from '../components';
import { CheckField, SelectField, TextArea, TextField } from '../fields';
import type { Bucket, Explanation } from '../types';

function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function SimulatorScreen({ initialBucket, initialKey }: { initialBucket: string; initialKey: string }) {
  const [buckets, setBuckets] = useState<Bucket[]>([]);
  const [bucket, setBucket] = useState(initialBucket);
  const [key, setKey] = useState(initialKey);
  const [method, setMethod] = useState('GET');
  const [headers, setHeaders] = useState('');
  const [missing, setMissing] = useState(false);
  const [website, setWebsite] = useState(false);
  const [result, setResult] = useState<Explanation | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<{ buckets: Bucket[] }>('GET', 'buckets').then((r) => {
      setBuckets(r.buckets);
      if (!initialBucket && r.buckets[0]) setBucket(r.buckets[0].name);
    }, setError);
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    try {
      setResult(
        await api<Explanation>('POST', 'explain', {
          bucket,
          key,
          method,
          headers: parseHeaders(headers),
          ...(missing && { status: 404 }),
          website,
        }),
      );
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section aria-labelledby="sim-title">
      <h1 id="sim-title">Rule simulator</h1>
      <p class="hint">What would a request do? Nothing is fetched from any origin and nothing changes.</p>
      <form class="panel" onSubmit={(e) => void submit(e)} aria-label="Request to simulate">
        <div class="grid">
          <SelectField
            id="sim-bucket"
            label="Bucket"
            value={bucket}
            onValue={setBucket}
            options={buckets.length ? buckets.map((b) => [b.name, b.name]) : [[bucket, bucket || '(no buckets)']]}
          />
          <SelectField
            id="sim-method"
            label="Method"
            value={method}
            onValue={setMethod}
            options={[
              ['GET', 'GET'],
              ['HEAD', 'HEAD'],
            ]}
          />
          <TextField id="sim-key" label="Key" value={key} placeholder="images/cat.jpg" required onValue={setKey} wide />
          <TextArea id="sim-headers" label="Request headers (one “Name: value” a line)" rows={3} value={headers} onValue={setHeaders} />
        </div>
        <div class="checks">
          <CheckField id="sim-missing" label="As if the object were missing (404)" value={missing} onValue={setMissing} />
          <CheckField id="sim-website" label="Website request (anonymous visitor or bound domain)" value={website} onValue={setWebsite} />
        </div>
        <div class="buttons">
          <button type="submit" class="primary">
            Simulate
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {result && <Result e={result} />}
    </section>
  );
}

function Outcome({ e }: { e: Explanation }) {
  const o = e.outcome;
  switch (o.kind) {
    case 'mirror': {
      const p = o.plan;
      return (
        <div class="outcome mirror" id="sim-outcome">
          <p>
            <strong>Mirror by rule {o.ruleNumber}</strong>: {p.method} <code class="break">{p.urls[0] ?? '?'}</code>
          </p>
          {p.urls.slice(1).map((u) => (
            <p key={u}>
              then, on failure ({p.failover}): {p.method} <code class="break">{u}</code>
            </p>
          ))}
          {p.hostOverride && (
            <p>
              Connecting to the MirrorURL address with <code>Host: {p.hostOverride}</code>
            </p>
          )}
          <p>
            {p.store ? (
              <>
                Stored as <code>{p.storeKey}</code>
              </>
            ) : (
              'Not stored (proxy only)'
            )}
            ; origin redirects {p.followRedirects ? `followed up to ${p.maxRedirects}` : 'handed to the client as 302'}
            {p.checkMd5 ? '; Content-MD5 checked' : ''}.
          </p>
          <p class="muted">{o.why}</p>
          <h3>Headers sent to the origin</h3>
          {Object.keys(p.headers).length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <TableWrap label="Headers sent to the origin">
              <table class="data kv" id="sim-headers-sent">
                <caption class="sr-only">Headers sent to the origin</caption>
                <thead>
                  <tr>
                    <th scope="col">Header</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(p.headers).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">
                        <code>{k}</code>
                      </th>
                      <td>
                        <code>{v}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          {p.dropped.length > 0 && (
            <>
              <h3>Not sent</h3>
              <ul>
                {p.dropped.map((d) => (
                  <li key={d.name}>
                    <code>{d.name}</code>: {d.reason}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      );
    }
    case 'redirect':
      return (
        <div class="outcome" id="sim-outcome">
          <p>
            <strong>Redirect {o.status}</strong>
            {o.ruleNumber !== undefined ? ` by rule ${o.ruleNumber}` : ''}: <code class="break">Location: {o.location}</code>
          </p>
          <p class="muted">{o.why}</p>
        </div>
      );
    case 'serve':
      return (
        <div class="outcome" id="sim-outcome">
          <p>
            <strong>Serve</strong> <code>{o.key}</code> with status {o.status}
            {o.errorDocument ? ' (error document)' : ''}
          </p>
          <p class="muted">{o.why}</p>
        </div>
      );
    case 'error':
      return (
        <div class="outcome error" id="sim-outcome">
          <p>
            <strong>{o.code}</strong> ({o.status})
          </p>
          <p class="muted">{o.why}</p>
        </div>
      );
  }
}

function Result({ e }: { e: Explanation }) {
  return (
    <section class="panel" aria-labelledby="sim-result-title">
      <h2 id="sim-result-title">
        Result: {e.request.method} {e.request.key}
        {e.request.status ? ` (as status ${e.request.status})` : ''}
      </h2>
      {!e.configured && <p class="alert info">This bucket has no website configuration: no rule can fire.</p>}
      <Outcome e={e} />
      {e.trace.map((pass, i) => (
        <div key={i}>
          <Steps
            steps={e.steps.slice(i === 0 ? 0 : (e.trace[i - 1]?.at ?? 0), pass.at ?? 0)}
            start={i === 0 ? 0 : (e.trace[i - 1]?.at ?? 0)}
          />
          <h3>Rules tried: {pass.phase}</h3>
          {pass.entries.length === 0 ? (
            <p class="muted">(no rules)</p>
          ) : (
            <TableWrap label={`Rules tried: ${pass.phase}`}>
              <table class="data trace">
                <caption class="sr-only">Rules tried: {pass.phase}</caption>
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">Result</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {pass.entries.map((t) => (
                    <tr key={t.ruleNumber} class={t.matched ? 'fires' : ''}>
                      <th scope="row">{t.ruleNumber}</th>
                      <td>{t.matched ? <span class="badge mirror">fires</span> : 'skipped'}</td>
                      <td>{t.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </div>
      ))}
      <Steps steps={e.steps.slice(e.trace.at(-1)?.at ?? 0)} start={e.trace.at(-1)?.at ?? 0} />
    </section>
  );
}

/** The lookups and document choices between rule passes, in the order they happened. */
function Steps({ steps, start }: { steps: string[]; start: number }) {
  if (steps.length === 0) return null;
  return (
    <>
      <h3>Steps</h3>
      <ol class="steps" start={start + 1}>
        {steps.map((s, i) => (
          <li key={i}>{s}</li>
        ))}
      </ol>
    </>
  );
}
