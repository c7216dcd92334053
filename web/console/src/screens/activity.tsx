/**
 * Mirror activity: origin fetches in progress and the recent ones (time, bucket, key, origin URL,
 * status, bytes, ms, followers that joined), polled once a second while the tab is visible.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorBox, TableWrap, formatBytes, formatTime } from '../components';
import { CheckField } from '../fields';
import type { Activity, FillView } from '../types';

const POLL_MS = 1000;

export function ActivityScreen() {
  const [data, setData] = useState<Activity | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(true);

  useEffect(() => {
    if (!live) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (document.visibilityState === 'visible') {
        try {
          setData(await api<Activity>('GET', 'activity'));
          setError(null);
        } catch (e) {
          setError(e);
        }
      }
      if (!stopped) timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [live]);

  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Mirror activity</h1>
      <div class="toolbar">
        <CheckField id="activity-live" label="Live updates (every second)" value={live} onValue={setLive} />
        {data && <span class="muted">Updated {formatTime(data.now)}</span>}
      </div>
      <ErrorBox error={error} />
      {data === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <h2 id="inflight-title">
            In progress <span class="muted">({data.inflight.length})</span>
          </h2>
          {data.inflight.length === 0 ? (
            <p class="empty">No origin fetch is in progress.</p>
          ) : (
            <Fills rows={data.inflight} label="Fills in progress" now={data.now} />
          )}
          <h2 id="recent-title">
            Recent origin fetches <span class="muted">({data.recent.length})</span>
          </h2>
          {data.recent.length === 0 ? (
            <p class="empty">No origin fetch yet. A GET of a missing key that a Mirror rule covers shows up here.</p>
          ) : (
            <Fills rows={data.recent} label="Recent origin fetches" now={data.now} />
          )}
        </>
      )}
    </section>
  );
}

function Fills({ rows, label, now }: { rows: FillView[]; label: string; now: string }) {
  return (
    <TableWrap label={label}>
      <table class="data activity stack">
        <caption class="sr-only">{label}</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Bucket</th>
            <th scope="col">Key</th>
            <th scope="col">Origin URL</th>
            <th scope="col" class="num">
              Status
            </th>
            <th scope="col">Outcome</th>
            <th scope="col" class="num">
              Bytes
            </th>
            <th scope="col" class="num">
              ms
            </th>
            <th scope="col" class="num">
              Followers
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.id} class={f.outcome === 'failed' || f.outcome === 'qos' ? 'bad' : ''}>
              <td data-label="Started">{formatTime(f.startedAt)}</td>
              <td data-label="Bucket">{f.bucket}</td>
              <th scope="row" class="break">
                {f.key}
              </th>
              <td class="break" data-label="Origin URL">
                <code>{f.url}</code>
              </td>
              <td class="num" data-label="Status">
                {f.status ?? '—'}
              </td>
              <td data-label="Outcome">
                {f.outcome ? (
                  <span class={`badge ${f.outcome}`} title={f.reason}>
                    {f.outcome}
                  </span>
                ) : (
                  'in progress'
                )}
                {f.reason && <div class="muted small">{f.reason}</div>}
              </td>
              <td class="num" data-label="Bytes">
                {formatBytes(f.bytes)}
              </td>
              <td class="num" data-label="ms">
                {f.ms ?? Math.max(0, Date.parse(now) - Date.parse(f.startedAt))}
              </td>
              <td class="num" data-label="Followers">
                {f.followers}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
