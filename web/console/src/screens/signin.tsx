/** Sign-in: an access key pair in, a session cookie back. The secret is sent once and kept nowhere. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorBox, inputValue } from '../components';
import type { SessionInfo } from '../types';

export function SignIn({ notice, onSignedIn }: { notice?: string | undefined; onSignedIn: (s: SessionInfo) => void }) {
  const [accessKeyId, setId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api<SessionInfo>('POST', 'session', { accessKeyId, secretAccessKey: secret });
      setSecret('');
      onSignedIn(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Osprey</h1>
        {notice && (
          <p class="alert info" role="status">
            {notice}
          </p>
        )}
        <ErrorBox error={error} />
        <label for="access-key-id">Access key ID</label>
        <input
          id="access-key-id"
          name="accessKeyId"
          autocomplete="username"
          required
          autoFocus
          value={accessKeyId}
          onInput={(e) => setId(inputValue(e))}
        />
        <label for="secret-access-key">Secret access key</label>
        <input
          id="secret-access-key"
          name="secretAccessKey"
          type="password"
          autocomplete="current-password"
          required
          value={secret}
          onInput={(e) => setSecret(inputValue(e))}
        />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="hint">
          Use the key pair <code>osprey serve</code> printed when it started. The secret is checked by the server and not stored in this
          browser.
        </p>
      </form>
    </main>
  );
}
