/** Small shared pieces: error and status boxes, a two-step delete button, formatting. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

/** An API error in the API's own words: "BucketNotEmpty: The bucket you tried to delete is not empty." */
export function ErrorBox({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="alert error" role="alert" id={id}>
      <strong>{code}</strong>: <span class="message">{message}</span>
    </div>
  );
}

export function Status({ children }: { children: ComponentChildren }) {
  return (
    <p class="status" role="status">
      {children}
    </p>
  );
}

/** Delete-style actions ask once more, inline (keyboard friendly, no modal). */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  disabled,
  describe,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
  describe?: string;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button
        type="button"
        class="danger"
        disabled={disabled}
        aria-label={describe ? `${label} ${describe}` : undefined}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class="danger solid"
        ref={confirmRef}
        onClick={() => {
          setAsking(false);
          void onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i] ?? ''}`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const ROLES: Record<string, (el: Element) => string> = {
  TABLE: () => 'table',
  THEAD: () => 'rowgroup',
  TBODY: () => 'rowgroup',
  TR: () => 'row',
  TD: () => 'cell',
  TH: (el) => (el.getAttribute('scope') === 'row' ? 'rowheader' : 'columnheader'),
};

/**
 * A table that scrolls sideways on narrow screens instead of overflowing the page. Tables marked
 * `stack` turn into one card per row on phones (CSS display: block), which makes browsers drop their
 * table semantics: explicit ARIA roles keep them a table for screen readers.
 */
export function TableWrap({ children, label }: { children: ComponentChildren; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const table = ref.current?.querySelector('table.stack');
    if (!table) return;
    for (const el of [table, ...table.querySelectorAll('thead, tbody, tr, th, td')]) {
      const role = ROLES[el.tagName]?.(el);
      if (role && el.getAttribute('role') !== role) el.setAttribute('role', role);
    }
  });
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0} ref={ref}>
      {children}
    </div>
  );
}

export function inputValue(e: Event): string {
  return (e.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}

export function checked(e: Event): boolean {
  return (e.currentTarget as HTMLInputElement).checked;
}

/** The heading and sub-navigation of a bucket's screens. */
export function BucketHeader({ bucket, tab }: { bucket: string; tab: 'objects' | 'origin' }) {
  return (
    <div class="bucket-header">
      <p class="crumbs">
        <a href="#/buckets">Buckets</a> / <span>{bucket}</span>
      </p>
      <h1 id="screen-title">{bucket}</h1>
      <nav class="tabs" aria-label={`Bucket ${bucket}`}>
        <a href={`#/buckets/${encodeURIComponent(bucket)}`} aria-current={tab === 'objects' ? 'page' : undefined}>
          Objects
        </a>
        <a href={`#/buckets/${encodeURIComponent(bucket)}/origin`} aria-current={tab === 'origin' ? 'page' : undefined}>
          Back-to-origin
        </a>
        <a href={`#/simulator?bucket=${encodeURIComponent(bucket)}`}>Simulate</a>
      </nav>
    </div>
  );
}
