import type { EntityCounts as Counts, SyncHistoryEntry as HistoryEntry } from './api-types';
import { describeError } from './errors';
import { formatCount, formatDuration, formatShortTime, formatTime, StatusBadge } from './format';

/** How many accounts, people and opportunities the tenant holds from the connector. */
export function EntityCounts({ name, counts, error }: { name: string; counts: Counts | undefined; error: unknown }) {
  return (
    <section className="counts" aria-label={`Records synced from ${name}`}>
      <h3>Synced records</h3>
      {error ? (
        <p className="alert" role="alert">{describeError(error)}</p>
      ) : (
        <dl>
          {(['accounts', 'people', 'opportunities'] as const).map((entity) => (
            <div key={entity}>
              <dt>{entity[0]!.toUpperCase() + entity.slice(1)}</dt>
              <dd data-entity={entity}>{counts ? formatCount(counts[entity]) : '…'}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** The latest syncs, newest first, as the API answers them. */
export function SyncHistory({ name, entries, error }: { name: string; entries: readonly HistoryEntry[] | undefined; error: unknown }) {
  if (error) return <p className="alert" role="alert">{describeError(error)}</p>;
  if (!entries) return null;
  if (entries.length === 0) return <p className="hint">No sync has run yet.</p>;
  return (
    <div className="table-scroll" role="region" aria-label={`Sync history of ${name}`} tabIndex={0}>
      <table className="history">
        <caption>Sync history, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col" className="number">Created</th>
            <th scope="col" className="number">Updated</th>
            <th scope="col" className="number">Deleted</th>
            <th scope="col" className="number">Failed</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id} data-status={entry.status}>
              <td>
                <time dateTime={entry.startedAt} title={formatTime(entry.startedAt)}>
                  {formatShortTime(entry.startedAt)}
                </time>
              </td>
              <td>{entry.syncType}</td>
              <td>
                <StatusBadge status={entry.status} />
                {entry.message && <div className="message">{entry.message}</div>}
              </td>
              <td className="number">{formatCount(entry.recordsCreated)}</td>
              <td className="number">{formatCount(entry.recordsUpdated)}</td>
              <td className="number">{formatCount(entry.recordsDeleted)}</td>
              <td className="number">{formatCount(entry.recordsFailed)}</td>
              <td>{entry.completedAt ? formatDuration(entry.startedAt, entry.completedAt) : 'running'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
