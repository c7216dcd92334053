/**
 * The Osprey web console: the app shell (session, navigation) and the screens. Built by
 * scripts/build-console.ts into dist/web/console/ and served by Osprey at /-/console/.
 */
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, setCsrfToken, setUnauthorizedHandler } from './api';
import { ErrorBox } from './components';
import { href, navigate, useRoute } from './router';
import { ActivityScreen } from './screens/activity';
import { BucketsScreen } from './screens/buckets';
import { ObjectsScreen } from './screens/objects';
import { OriginScreen } from './screens/origin';
import { SignIn } from './screens/signin';
import { SimulatorScreen } from './screens/simulator';
import type { SessionInfo } from './types';

type SessionState = { kind: 'loading' } | { kind: 'out'; notice?: string } | { kind: 'in'; session: SessionInfo };

function App() {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const [signOutError, setSignOutError] = useState<unknown>(null);
  const route = useRoute();

  const signedIn = (session: SessionInfo) => {
    setCsrfToken(session.csrfToken);
    setState({ kind: 'in', session });
  };

  useEffect(() => {
    setUnauthorizedHandler((e) => {
      setCsrfToken('');
      setState({
        kind: 'out',
        notice: e.code === 'SessionExpired' ? 'Your session has expired. Sign in again.' : 'You are signed out. Sign in again.',
      });
    });
    api<SessionInfo>('GET', 'session').then(signedIn, (e: unknown) => {
      setState({
        kind: 'out',
        ...(e instanceof ApiError && e.code === 'SessionExpired' && { notice: 'Your session has expired. Sign in again.' }),
      });
    });
  }, []);

  // the page title names the screen (screen readers announce it on navigation)
  useEffect(() => {
    const screen = state.kind === 'in' ? screenName(route.parts) : 'Sign in';
    document.title = `${screen} · Osprey console`;
  }, [state.kind, route]);

  if (state.kind === 'loading') return <p class="loading">Loading…</p>;
  if (state.kind === 'out') return <SignIn notice={state.notice} onSignedIn={signedIn} />;

  const signOut = async () => {
    try {
      await api('DELETE', 'session');
      setCsrfToken('');
      setState({ kind: 'out', notice: 'You have signed out.' });
      navigate('#/buckets');
    } catch (e) {
      setSignOutError(e);
    }
  };
  const [top] = route.parts;
  const current = (name: string) => (top === name || (name === 'buckets' && top === undefined) ? 'page' : undefined);
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">Osprey</span>
        <nav aria-label="Main">
          <a href={href(['buckets'])} aria-current={current('buckets')}>
            Buckets
          </a>
          <a href={href(['simulator'])} aria-current={current('simulator')}>
            Simulator
          </a>
          <a href={href(['activity'])} aria-current={current('activity')}>
            Mirror activity
          </a>
        </nav>
        <div class="who">
          <span class="key" title={`Session ends ${new Date(state.session.expiresAt).toLocaleString()}`}>
            {state.session.accessKeyId}
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBox error={signOutError} />
        <Screen parts={route.parts} query={route.query} />
      </main>
    </>
  );
}

function screenName(parts: string[]): string {
  const [top, bucket, tab] = parts;
  if (top === 'simulator') return 'Simulator';
  if (top === 'activity') return 'Mirror activity';
  if (top === 'buckets' && bucket) return tab === 'origin' ? `${bucket}: back-to-origin` : `${bucket}: objects`;
  return 'Buckets';
}

function Screen({ parts, query }: { parts: string[]; query: URLSearchParams }) {
  const [top, bucket, tab] = parts;
  if (top === 'simulator') return <SimulatorScreen initialBucket={query.get('bucket') ?? ''} initialKey={query.get('key') ?? ''} />;
  if (top === 'activity') return <ActivityScreen />;
  if (top === 'buckets' && bucket) {
    if (tab === 'origin') return <OriginScreen bucket={bucket} />;
    return <ObjectsScreen bucket={bucket} prefix={query.get('prefix') ?? ''} />;
  }
  return <BucketsScreen />;
}

const root = document.getElementById('app');
if (root) render(<App />, root);
