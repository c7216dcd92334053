/**
 * Calls to the console API: JSON in and out, the CSRF token on every state-changing call, and
 * uploads through XMLHttpRequest (the one browser API that reports upload progress). The CSRF token
 * lives in memory only; the session itself is an HttpOnly cookie the page never sees.
 */
const BASE = '/-/console/api/';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onUnauthorized: (e: ApiError) => void = () => {};

export function setCsrfToken(token: string): void {
  csrf = token;
}

/** Called when a call answers 401 (signed out elsewhere, or the session expired). */
export function setUnauthorizedHandler(fn: (e: ApiError) => void): void {
  onUnauthorized = fn;
}

async function toError(res: Response): Promise<ApiError> {
  let code = 'HttpError';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

export function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export async function api<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Osprey-CSRF'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && path !== 'session') onUnauthorized(err);
    throw err;
  }
  return (await res.json()) as T;
}

/** Send a body (a File or a slice of one) with progress reports; resolves with the JSON answer. */
export function sendWithProgress<T>(
  method: string,
  path: string,
  body: Blob,
  headers: Record<string, string>,
  onProgress: (sent: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, BASE + path);
    xhr.setRequestHeader('X-Osprey-CSRF', csrf);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(parsed as T);
        return;
      }
      const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      const err = new ApiError(xhr.status, e?.code ?? 'HttpError', e?.message ?? `${xhr.status} ${xhr.statusText}`);
      if (xhr.status === 401) onUnauthorized(err);
      reject(err);
    };
    xhr.onerror = () => reject(new ApiError(0, 'NetworkError', 'The upload failed: the connection was lost.'));
    xhr.onabort = () => reject(new ApiError(0, 'Aborted', 'The upload was cancelled.'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(body);
  });
}
