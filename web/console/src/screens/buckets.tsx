/** Buckets: list, create with a canned ACL, change the ACL, delete (the API refuses a non-empty one). */
import { useEffect, useState } from 'preact/hooks';
import { api, enc } from '../api';
import { ConfirmButton, ErrorBox, Status, TableWrap, formatTime, inputValue } from '../components';
import { href } from '../router';
import type { Bucket, CannedAcl } from '../types';
import { ACLS } from '../types';

export function BucketsScreen() {
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const [name, setName] = useState('');
  const [acl, setAcl] = useState<CannedAcl>('private');

  const load = async () => {
    try {
      setBuckets((await api<{ buckets: Bucket[] }>('GET', 'buckets')).buckets);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setStatus('');
    try {
      await what();
      setStatus(done);
      await load();
    } catch (e) {
      setError(e);
    }
  };

  const create = (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    void act(async () => {
      await api('POST', 'buckets', { name: n, acl });
      setName('');
    }, `Bucket ${n} created.`);
  };

  return (
    <section aria-labelledby="buckets-title">
      <h1 id="buckets-title">Buckets</h1>
      <form class="inline-form" onSubmit={create} aria-label="Create a bucket">
        <div class="field">
          <label for="new-bucket">New bucket name</label>
          <input id="new-bucket" required value={name} placeholder="my-bucket" onInput={(e) => setName(inputValue(e))} />
        </div>
        <div class="field">
          <label for="new-bucket-acl">Access (canned ACL)</label>
          <select id="new-bucket-acl" value={acl} onChange={(e) => setAcl(inputValue(e) as CannedAcl)}>
            {ACLS.map((a) => (
              <option value={a}>{a}</option>
            ))}
          </select>
        </div>
        <button type="submit" class="primary">
          Create bucket
        </button>
      </form>
      <ErrorBox error={error} />
      {status && <Status>{status}</Status>}
      {buckets === null ? (
        <p>Loading…</p>
      ) : buckets.length === 0 ? (
        <p class="empty">No buckets yet. Create one above.</p>
      ) : (
        <TableWrap label="Buckets">
          <table class="data stack">
            <caption class="sr-only">Buckets</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">ACL</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.name}>
                  <th scope="row">
                    <a href={href(['buckets', b.name])}>{b.name}</a>
                  </th>
                  <td data-label="Created">{formatTime(b.created)}</td>
                  <td data-label="ACL">
                    <label class="sr-only" for={`acl-${b.name}`}>
                      ACL of {b.name}
                    </label>
                    <select
                      id={`acl-${b.name}`}
                      value={b.acl}
                      onChange={(e) => {
                        const v = inputValue(e);
                        void act(() => api('PUT', `buckets/${enc(b.name)}/acl`, { acl: v }), `ACL of ${b.name} is now ${v}.`);
                      }}
                    >
                      {ACLS.map((a) => (
                        <option value={a}>{a}</option>
                      ))}
                    </select>
                  </td>
                  <td class="actions">
                    <a class="button" href={href(['buckets', b.name])}>
                      Objects
                    </a>
                    <a class="button" href={href(['buckets', b.name, 'origin'])}>
                      Back-to-origin
                    </a>
                    <ConfirmButton
                      label="Delete"
                      describe={b.name}
                      confirmLabel={`Delete ${b.name}`}
                      onConfirm={() => act(() => api('DELETE', `buckets/${enc(b.name)}`), `Bucket ${b.name} deleted.`)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
