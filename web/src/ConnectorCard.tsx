import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { ConnectorSummary } from './api-types';
import { ConnectForm } from './ConnectForm';
import { DisconnectDialog } from './DisconnectDialog';
import { describeError } from './errors';
import { formatTime, StatusBadge } from './format';
import { connectMethodOf } from './providers';
import { Schedule } from './Schedule';
import { EntityCounts, SyncHistory } from './SyncDetails';
import { expectedRecords } from './progress';
import { SyncProgress } from './SyncProgress';
import { useTRPC } from './trpc';

/** How often a running sync's figures are read: only while the connector is syncing. */
const STATUS_POLL_MS = 1_000;
/** The counts and the history move with a running sync too, at a calmer pace. */
const DETAILS_POLL_MS = 2_000;
const HISTORY_ROWS = 5;

/** Reads everything about one connector again after a change: the list, its status, its counts and its history. */
export function useRefreshConnector(connectorId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useCallback(
    () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.connector.list.queryKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.connector.getStatus.queryKey({ connectorId }) }),
        queryClient.invalidateQueries({ queryKey: trpc.connector.getEntityCounts.queryKey({ connectorId }) }),
        queryClient.invalidateQueries({ queryKey: trpc.connector.getSyncHistory.queryKey({ connectorId }) }),
      ]),
    [trpc, queryClient, connectorId],
  );
}

/** One connector: its status, what an admin can do with it, a running sync's progress, its schedule, counts and history. */
export function ConnectorCard({ connector, canAdmin }: { connector: ConnectorSummary; canAdmin: boolean }) {
  const trpc = useTRPC();
  const connectorId = connector.id;
  const titleId = useId();
  const refresh = useRefreshConnector(connectorId);

  const statusQuery = useQuery(
    trpc.connector.getStatus.queryOptions(
      { connectorId },
      { refetchInterval: (query) => (query.state.data?.status === 'syncing' ? STATUS_POLL_MS : false) },
    ),
  );
  const current = statusQuery.data ?? connector;
  const syncing = current.status === 'syncing';
  const setUp = current.databaseId !== null;
  const details = { enabled: setUp, refetchInterval: syncing ? DETAILS_POLL_MS : (false as const) };
  const counts = useQuery(trpc.connector.getEntityCounts.queryOptions({ connectorId }, details));
  const history = useQuery(trpc.connector.getSyncHistory.queryOptions({ connectorId, limit: HISTORY_ROWS }, details));

  // The entities stored when a sync was seen to start (see expectedRecords).
  const [storedAtStart, setStoredAtStart] = useState<number | undefined>();
  const wasSyncing = useRef(syncing);
  useEffect(() => {
    if (!wasSyncing.current && syncing) {
      setStoredAtStart(counts.data && counts.data.accounts + counts.data.people + counts.data.opportunities);
    }
    // A sync ended: its figures, the counts, the history and the list have all moved.
    if (wasSyncing.current && !syncing) {
      setStoredAtStart(undefined);
      void refresh();
    }
    wasSyncing.current = syncing;
  }, [syncing, counts.data, refresh]);

  const [actionError, setActionError] = useState<unknown>(null);
  const onAction = { onMutate: () => setActionError(null), onError: setActionError, onSuccess: () => refresh() };
  const triggerSync = useMutation(trpc.connector.triggerSync.mutationOptions(onAction));
  const cancelSync = useMutation(trpc.connector.cancelSync.mutationOptions(onAction));
  const getAuthUrl = useMutation(
    trpc.connector.getAuthUrl.mutationOptions({
      onMutate: () => setActionError(null),
      onError: setActionError,
      // Off to the provider's consent; its callback sends the person back to this page.
      onSuccess: ({ authUrl }) => window.location.assign(authUrl),
    }),
  );
  const [connecting, setConnecting] = useState(false);
  const [disconnecting, setDisconnecting] = useState(false);

  const method = connectMethodOf(connectorId);
  const busy = triggerSync.isPending || cancelSync.isPending || getAuthUrl.isPending;
  const readOnly = !canAdmin;
  const adminOnly = readOnly ? { disabled: true, 'aria-describedby': 'read-only-note' } : {};
  const connectLabel = current.status === 'disconnected' || current.status === 'pending_auth' ? 'Connect' : 'Reconnect';
  const connect = () => {
    if (method?.kind === 'oauth') getAuthUrl.mutate({ connectorId });
    else setConnecting(true);
  };

  const latestSync = statusQuery.data?.latestSync ?? null;
  const apiUsage = apiUsageOf(statusQuery.data?.config);
  return (
    <article className="card connector" aria-labelledby={titleId} data-connector={connectorId}>
      <header className="connector-head">
        <h2 id={titleId}>{current.name}</h2>
        <StatusBadge status={current.status} />
      </header>
      <dl className="facts">
        <div>
          <dt>Last sync</dt>
          <dd>{current.lastSyncAt ? <time dateTime={current.lastSyncAt}>{formatTime(current.lastSyncAt)}</time> : 'never'}</dd>
        </div>
        {apiUsage && (
          <div>
            <dt>API usage</dt>
            <dd>
              {apiUsage.used === null || apiUsage.limit === null
                ? `not read yet (budget ${percent(apiUsage.budget)})`
                : `${apiUsage.used.toLocaleString('en-US')} of ${apiUsage.limit.toLocaleString('en-US')} daily calls (budget ${percent(apiUsage.budget)})`}
            </dd>
          </div>
        )}
        {setUp && statusQuery.data?.schedule && (
          <div>
            <dt>Next scheduled sync</dt>
            <dd>
              {statusQuery.data.schedule.paused
                ? 'paused'
                : statusQuery.data.schedule.nextSyncAt
                  ? <time dateTime={statusQuery.data.schedule.nextSyncAt}>{formatTime(statusQuery.data.schedule.nextSyncAt)}</time>
                  : 'none while not connected'}
            </dd>
          </div>
        )}
      </dl>
      {current.lastSyncError && (
        <p className="alert" role="alert">
          <strong>Last sync failed:</strong> {current.lastSyncError}
        </p>
      )}
      {current.lastSyncNote && <p className="note">{current.lastSyncNote}</p>}
      {syncing && apiUsage && apiUsage.used !== null && apiUsage.limit !== null && apiUsage.used >= apiUsage.budget * apiUsage.limit && (
        <p className="note" role="status">
          Waiting for the org's API usage to fall below its budget; the sync goes on by itself once it has.
        </p>
      )}

      {syncing && latestSync && (
        <SyncProgress
          latestSync={latestSync}
          expected={expectedRecords(latestSync, history.data, storedAtStart)}
          startedAt={history.data?.find((entry) => entry.status === 'running')?.startedAt}
        />
      )}

      <div className="actions" role="group" aria-label={`${current.name} actions`}>
        {syncing ? (
          <button type="button" onClick={() => cancelSync.mutate({ connectorId })} disabled={busy} {...adminOnly}>
            Cancel sync
          </button>
        ) : (
          (current.status === 'connected' || current.status === 'error') && (
            <>
              <button type="button" className="primary" onClick={() => triggerSync.mutate({ connectorId })} disabled={busy} {...adminOnly}>
                Sync now
              </button>
              <button type="button" onClick={() => triggerSync.mutate({ connectorId, fullSync: true })} disabled={busy} {...adminOnly}>
                Full sync
              </button>
            </>
          )
        )}
        {method && !syncing && (
          <button
            type="button"
            className={current.status === 'disconnected' ? 'primary' : undefined}
            onClick={connect}
            disabled={busy || connecting}
            aria-label={`${connectLabel} ${current.name}`}
            {...adminOnly}
          >
            {connectLabel}
          </button>
        )}
        {setUp && current.status !== 'disconnected' && (
          <button type="button" className="danger" onClick={() => setDisconnecting(true)} disabled={busy} {...adminOnly}>
            Disconnect
          </button>
        )}
      </div>
      {actionError != null && (
        <p className="alert" role="alert">
          {describeError(actionError)}
        </p>
      )}
      {connecting && method?.kind === 'apiKey' && (
        <ConnectForm
          connectorId={connectorId}
          name={current.name}
          method={method}
          onDone={() => {
            setConnecting(false);
            void refresh();
          }}
          onCancel={() => setConnecting(false)}
        />
      )}
      {disconnecting && (
        <DisconnectDialog
          connectorId={connectorId}
          name={current.name}
          onClose={(disconnected) => {
            setDisconnecting(false);
            if (disconnected) void refresh();
          }}
        />
      )}

      {setUp && (
        <div className="details">
          {statusQuery.data?.schedule && (
            <Schedule connectorId={connectorId} schedule={statusQuery.data.schedule} readOnly={readOnly} onChanged={refresh} />
          )}
          <EntityCounts name={current.name} counts={counts.data} error={counts.error} />
          <SyncHistory name={current.name} entries={history.data} error={history.error} />
        </div>
      )}
    </article>
  );
}

/** The org's API allowance `getStatus` shows in `config.apiUsage` (Salesforce), if it does. */
function apiUsageOf(config: Record<string, unknown> | undefined): { used: number | null; limit: number | null; budget: number } | undefined {
  const usage = config?.apiUsage as { used?: unknown; limit?: unknown; budget?: unknown } | undefined;
  if (!usage || typeof usage.budget !== 'number') return undefined;
  const figure = (value: unknown) => (typeof value === 'number' ? value : null);
  return { used: figure(usage.used), limit: figure(usage.limit), budget: usage.budget };
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
