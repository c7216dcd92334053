/**
 * Objects: browse by prefix (folders from the '/' delimiter), page through, upload with progress
 * (multipart above 8 MiB), download, delete, and an object's headers, metadata and origin.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, qs } from '../api';
import { BucketHeader, ConfirmButton, ErrorBox, Status, TableWrap, formatBytes, formatTime, inputValue } from '../components';
import { href } from '../router';
import type { ObjectDetails, ObjectPage } from '../types';
import { PART_SIZE, uploadFile } from '../upload';

interface UploadRow {
  name: string;
  key: string;
  size: number;
  sent: number;
  state: 'uploading' | 'done' | 'failed';
  error?: unknown;
  multipart: boolean;
}

const PAGE_SIZES = [25, 50, 100, 200];

export function ObjectsScreen({ bucket, prefix }: { bucket: string; prefix: string }) {
  const [page, setPage] = useState<ObjectPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  // the `after` marker of every page before the current one (Previous pops it)
  const [markers, setMarkers] = useState<string[]>([]);
  const [after, setAfter] = useState<string | undefined>(undefined);
  const [pageSize, setPageSize] = useState(50);
  const [uploadsList, setUploads] = useState<UploadRow[]>([]);
  const [details, setDetails] = useState<ObjectDetails | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const load = async (from: string | undefined) => {
    try {
      setPage(await api<ObjectPage>('GET', `buckets/${enc(bucket)}/objects${qs({ prefix, after: from, max: pageSize })}`));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    setMarkers([]);
    setAfter(undefined);
    setDetails(null);
    setError(null);
    void load(undefined);
  }, [bucket, prefix, pageSize]);

  const go = (to: string | undefined, stack: string[]) => {
    setMarkers(stack);
    setAfter(to);
    void load(to);
  };

  const upload = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setError(null);
    const list = Array.from(files);
    const rows: UploadRow[] = list.map((f) => ({
      name: f.name,
      key: prefix + f.name,
      size: f.size,
      sent: 0,
      state: 'uploading',
      multipart: f.size > PART_SIZE,
    }));
    setUploads(rows);
    const update = (i: number, patch: Partial<UploadRow>) => setUploads((cur) => cur.map((r, j) => (j === i ? { ...r, ...patch } : r)));
    await Promise.all(
      list.map(async (f, i) => {
        try {
          await uploadFile(bucket, prefix + f.name, f, (sent) => update(i, { sent }));
          update(i, { sent: f.size, state: 'done' });
        } catch (e) {
          update(i, { state: 'failed', error: e });
        }
      }),
    );
    if (fileInput.current) fileInput.current.value = '';
    await load(after);
  };

  const showDetails = async (key: string) => {
    setError(null);
    try {
      setDetails(await api<ObjectDetails>('GET', `buckets/${enc(bucket)}/object${qs({ key })}`));
    } catch (e) {
      setError(e);
    }
  };

  const remove = async (key: string) => {
    setError(null);
    try {
      await api('DELETE', `buckets/${enc(bucket)}/object${qs({ key })}`);
      setStatus(`Deleted ${key}.`);
      if (details?.key === key) setDetails(null);
      await load(after);
    } catch (e) {
      setError(e);
    }
  };

  const crumbs = prefix.split('/').filter(Boolean);
  const downloadHref = (key: string) => `/-/console/api/buckets/${enc(bucket)}/download${qs({ key })}`;
  return (
    <section aria-labelledby="screen-title">
      <BucketHeader bucket={bucket} tab="objects" />
      <p class="path" aria-label="Current folder">
        <a href={href(['buckets', bucket])}>{bucket}</a>/
        {crumbs.map((c, i) => (
          <span key={i}>
            <a href={href(['buckets', bucket], { prefix: crumbs.slice(0, i + 1).join('/') + '/' })}>{c}</a>/
          </span>
        ))}
      </p>
      <div class="upload">
        <label for="upload-files">
          Upload files to{' '}
          <code>
            {bucket}/{prefix}
          </code>
        </label>
        <input id="upload-files" ref={fileInput} type="file" multiple onChange={(e) => void upload(e.currentTarget.files)} />
        {uploadsList.length > 0 && (
          <ul class="uploads" aria-label="Uploads">
            {uploadsList.map((u) => (
              <li key={u.key}>
                <span class="name">{u.name}</span>
                <progress max={u.size || 1} value={u.state === 'done' ? u.size || 1 : u.sent} aria-label={`Upload of ${u.name}`} />
                <span class="pct">
                  {u.state === 'done' ? 'Uploaded' : u.state === 'failed' ? 'Failed' : `${Math.floor((u.sent / (u.size || 1)) * 100)}%`}
                  {u.multipart ? ' (multipart)' : ''} · {formatBytes(u.size)}
                </span>
                {u.state === 'failed' && <ErrorBox error={u.error} />}
              </li>
            ))}
          </ul>
        )}
      </div>
      <ErrorBox error={error} />
      {status && <Status>{status}</Status>}
      {page === null ? (
        <p>Loading…</p>
      ) : (
        <>
          {page.folders.length === 0 && page.objects.length === 0 ? (
            <p class="empty">{prefix ? 'This folder is empty.' : 'This bucket is empty.'}</p>
          ) : (
            <TableWrap label={`Objects in ${bucket}/${prefix}`}>
              <table class="data stack">
                <caption class="sr-only">
                  Objects in {bucket}/{prefix}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col" class="num">
                      Size
                    </th>
                    <th scope="col">Last modified</th>
                    <th scope="col">Source</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {page.folders.map((f) => (
                    <tr key={`f:${f}`}>
                      <th scope="row">
                        <a class="folder" href={href(['buckets', bucket], { prefix: f })}>
                          {f.slice(prefix.length)}
                        </a>
                      </th>
                      <td class="num" data-label="Size">
                        —
                      </td>
                      <td />
                      <td data-label="Source">folder</td>
                      <td />
                    </tr>
                  ))}
                  {page.objects.map((o) => (
                    <tr key={o.key}>
                      <th scope="row">
                        <span class="objname">{o.key.slice(prefix.length)}</span>
                      </th>
                      <td class="num" data-label="Size">
                        {formatBytes(o.size)}
                      </td>
                      <td data-label="Last modified">{formatTime(o.lastModified)}</td>
                      <td data-label="Source">
                        {o.origin ? (
                          <span class="badge mirror" title={o.origin}>
                            from origin
                          </span>
                        ) : (
                          <span class="badge">uploaded</span>
                        )}
                      </td>
                      <td class="actions">
                        <button type="button" aria-label={`Details of ${o.key}`} onClick={() => void showDetails(o.key)}>
                          Details
                        </button>
                        <a class="button" href={downloadHref(o.key)} download aria-label={`Download ${o.key}`}>
                          Download
                        </a>
                        <ConfirmButton label="Delete" describe={o.key} confirmLabel="Delete it" onConfirm={() => remove(o.key)} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          <div class="pager">
            <button
              type="button"
              disabled={markers.length === 0}
              onClick={() => go(markers[markers.length - 1] || undefined, markers.slice(0, -1))}
            >
              Previous page
            </button>
            <button type="button" disabled={!page.truncated} onClick={() => go(page.next, [...markers, after ?? ''])}>
              Next page
            </button>
            <label for="page-size">Per page</label>
            <select id="page-size" value={String(pageSize)} onChange={(e) => setPageSize(Number(inputValue(e)))}>
              {PAGE_SIZES.map((n) => (
                <option value={String(n)}>{n}</option>
              ))}
            </select>
            <span class="muted">Page {markers.length + 1}</span>
          </div>
        </>
      )}
      {details && <Details d={details} bucket={bucket} onClose={() => setDetails(null)} />}
    </section>
  );
}

function KV({ title, rows }: { title: string; rows: Record<string, string> }) {
  const entries = Object.entries(rows);
  return (
    <>
      <h3>{title}</h3>
      {entries.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <TableWrap label={title}>
          <table class="data kv">
            <caption class="sr-only">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {entries.map(([k, v]) => (
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
    </>
  );
}

function Details({ d, bucket, onClose }: { d: ObjectDetails; bucket: string; onClose: () => void }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => ref.current?.focus(), [d.key]);
  const originUrl = d.origin?.replace(/^MIRROR\s*/, '') ?? '';
  return (
    <section class="panel details" aria-labelledby="details-title" tabIndex={-1} ref={ref}>
      <div class="panel-head">
        <h2 id="details-title">{d.key}</h2>
        <button type="button" onClick={onClose}>
          Close details
        </button>
      </div>
      <dl class="facts">
        <dt>Bucket</dt>
        <dd>{bucket}</dd>
        <dt>Size</dt>
        <dd>
          {formatBytes(d.size)} ({d.size} bytes)
        </dd>
        <dt>ETag</dt>
        <dd>
          <code>{d.etag}</code>
        </dd>
        <dt>Last modified</dt>
        <dd>{formatTime(d.lastModified)}</dd>
        <dt>Source</dt>
        <dd>
          {d.origin ? (
            <>
              Fetched from an origin: <code>{originUrl || d.origin}</code> (<code>x-oss-tag: {d.origin}</code>)
            </>
          ) : (
            'Uploaded (not from an origin)'
          )}
        </dd>
      </dl>
      <KV title="Response headers" rows={d.headers} />
      <KV title="User metadata" rows={d.userMeta} />
      <KV title="Stored system values" rows={d.system} />
    </section>
  );
}
