import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ResolvedConfig } from './config';
import { ConnectorCard } from './ConnectorCard';
import { describeError } from './errors';
import { currentSession, signOut, type Session } from './session';
import { SignIn } from './SignIn';
import { createClients, TRPCProvider, useTRPC } from './trpc';

/** The page: the sign-in while nobody is signed in, then the tenant's connectors. */
export function App({ config }: { config: ResolvedConfig }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);
  useEffect(() => {
    currentSession(config).then(setSession, () => setSession(null));
  }, [config]);
  const end = useCallback(
    (why: 'signed-out' | 'expired') => {
      signOut(config);
      setExpired(why === 'expired');
      setSession(null);
    },
    [config],
  );

  if (session === undefined) return <main className="page" aria-busy="true" />;
  if (session === null) return <SignIn config={config} expired={expired} />;
  return <SignedIn config={config} session={session} onEnd={end} />;
}

function SignedIn({ config, session, onEnd }: { config: ResolvedConfig; session: Session; onEnd: (why: 'signed-out' | 'expired') => void }) {
  const { queryClient, trpcClient } = useMemo(
    () => createClients({ url: config.trpcUrl, getToken: session.getToken, onUnauthorized: () => onEnd('expired') }),
    [config, session, onEnd],
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <header className="top">
          <h1>Connections</h1>
          <p className="who">
            {session.tenant ? <>Tenant <strong>{session.tenant}</strong></> : 'Signed in'}
            {session.role && <>, as <strong>{session.role}</strong></>}
            <button type="button" className="link" onClick={() => onEnd('signed-out')}>
              Sign out
            </button>
          </p>
        </header>
        <main className="page">
          {!session.canAdmin && (
            <p className="note" id="read-only-note" role="note">
              Read only: you are signed in as a member. You can see every connector, its syncs and its data; connecting,
              syncing, scheduling and disconnecting need an admin.
            </p>
          )}
          <Connectors canAdmin={session.canAdmin} />
        </main>
      </TRPCProvider>
    </QueryClientProvider>
  );
}

function Connectors({ canAdmin }: { canAdmin: boolean }) {
  const trpc = useTRPC();
  const connectors = useQuery(trpc.connector.list.queryOptions());
  if (connectors.isPending) return <p aria-busy="true">Loading connectors…</p>;
  if (connectors.isError) {
    return (
      <p className="alert" role="alert">
        The connectors could not be loaded: {describeError(connectors.error)}
      </p>
    );
  }
  return (
    <>
      <ConsentOutcome connectors={connectors.data} />
      <ul className="connectors" aria-label="Connectors">
        {connectors.data.map((connector) => (
          <li key={connector.id}>
            <ConnectorCard connector={connector} canAdmin={canAdmin} />
          </li>
        ))}
      </ul>
    </>
  );
}

/**
 * What the OAuth callback said when it sent the person back here (`?connector=&status=&message=`),
 * until dismissed, or, for a connection, until the connector is disconnected again.
 */
function ConsentOutcome({ connectors }: { connectors: readonly { id: string; name: string; status: string }[] }) {
  const [outcome, setOutcome] = useState(() => {
    const query = new URLSearchParams(window.location.search);
    const connector = query.get('connector');
    const status = query.get('status');
    return connector && status ? { connector, status, message: query.get('message') } : null;
  });
  useEffect(() => {
    // The outcome is shown once: a reload should not announce it again.
    if (outcome) window.history.replaceState(null, '', window.location.pathname);
  }, [outcome]);
  if (!outcome) return null;
  const connector = connectors.find((candidate) => candidate.id === outcome.connector);
  const name = connector?.name ?? outcome.connector;
  const connected = outcome.status === 'connected';
  if (connected && connector?.status === 'disconnected') return null;
  return (
    <div className={connected ? 'notice' : 'alert'} role={connected ? 'status' : 'alert'}>
      <p>{connected ? `${name} is connected.` : `Connecting ${name} did not work: ${outcome.message ?? 'the provider refused it.'}`}</p>
      <button type="button" className="link" onClick={() => setOutcome(null)}>
        Dismiss
      </button>
    </div>
  );
}
