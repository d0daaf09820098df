import { createHash } from 'node:crypto';
import type { ConnectorStatus } from './model';

/**
 * The connector's lifecycle: its states (the spec's statuses) and the events that move
 * between them, as one table. The lifecycle repository turns each row into one conditional
 * write from the row's `from` states; no other code writes `status`, `activeSyncId` or the
 * watermark. `test/functions/core/connector-lifecycle.test.ts` tries every event from every
 * state against DynamoDB Local and checks the answer against this table.
 *
 * | status         | means                                                              |
 * |----------------|--------------------------------------------------------------------|
 * | `disconnected` | no credentials: never connected, disconnected, or a flow expired   |
 * | `pending_auth` | no credentials, an OAuth flow started less than 10 minutes ago     |
 * | `connected`    | credentials held, no sync running                                  |
 * | `syncing`      | credentials held, `activeSyncId` names the one running sync        |
 * | `error`        | credentials held, the last sync failed (or the grant is gone)      |
 */

export interface Transition {
  /** The states the event may happen in; anything else is refused by the write's condition. */
  readonly from: readonly ConnectorStatus[];
  /** The state afterwards; `unchanged` keeps whatever the connector was. */
  readonly to: ConnectorStatus | 'unchanged';
  /** What else the write's condition requires, and what the row means. */
  readonly guard: string;
}

const HOLDS_CREDENTIALS: readonly ConnectorStatus[] = ['connected', 'syncing', 'error'];
const NO_CREDENTIALS: readonly ConnectorStatus[] = ['disconnected', 'pending_auth'];
const NOT_SYNCING: readonly ConnectorStatus[] = ['disconnected', 'pending_auth', 'connected', 'error'];

/**
 * The lifecycle table. `authorizationStarted`, `authorizationFailed` and `authorizationExpired`
 * each have two rows: a connector without credentials waits in `pending_auth`, while one that
 * holds credentials keeps its status, credentials and schedule until the callback succeeds
 * (re-authorization never disables a working connection).
 */
export const lifecycle = {
  /** An API key was checked and stored (a running sync is cancelled first). */
  connect: { from: NOT_SYNCING, to: 'connected', guard: 'no running sync (a purge may go on); clears the watermark: the next sync is full' },
  authorizationStarted: { from: NO_CREDENTIALS, to: 'pending_auth', guard: 'no credentials: wait for the callback' },
  reauthorizationStarted: { from: HOLDS_CREDENTIALS, to: 'unchanged', guard: 'credentials held: only the pending flow is recorded' },
  /** The callback exchanged the code (a running sync is cancelled first). */
  authorizationCompleted: {
    // A stored `disconnected` never has a pending flow: disconnect and failed flows remove it.
    from: ['pending_auth', 'connected', 'error'],
    to: 'connected',
    guard: 'this flow is the pending one, no running sync (a purge may go on); clears the watermark: the next sync is full',
  },
  authorizationFailed: { from: ['pending_auth'], to: 'disconnected', guard: 'this flow is the pending one, no credentials' },
  reauthorizationFailed: { from: HOLDS_CREDENTIALS, to: 'unchanged', guard: 'this flow is the pending one; the working connection stays' },
  /** Never written: a `pending_auth` connector whose flow is older than 10 minutes reads as `disconnected`. */
  authorizationExpired: { from: ['pending_auth'], to: 'disconnected', guard: 'evaluated when read' },
  syncStarted: { from: ['connected', 'error'], to: 'syncing', guard: 'credentials held, and no sync or purge owns the connector' },
  syncFinished: { from: ['syncing'], to: 'connected', guard: 'activeSyncId names this sync' },
  syncFailed: { from: ['syncing'], to: 'error', guard: 'activeSyncId names this sync' },
  syncCancelled: { from: ['syncing'], to: 'connected', guard: 'activeSyncId names this sync' },
  /** Clears credentials, config, watermark and schedule (a running sync is cancelled first). */
  disconnect: { from: NOT_SYNCING, to: 'disconnected', guard: 'no running sync' },
  /** The grant is gone outside a sync; inside one, the sync's own failure says so. */
  reauthorizationRequired: { from: ['connected', 'error'], to: 'error', guard: 'off the schedule until a person reconnects' },
} as const satisfies Record<string, Transition>;

export type LifecycleRow = keyof typeof lifecycle;

/** How long an OAuth flow may wait for its callback. */
export const AUTHORIZATION_TTL_MS = 10 * 60 * 1000;

/**
 * The status a reader sees: a `pending_auth` whose flow expired is `disconnected` again
 * (`authorizationExpired`), with no timer to write it.
 */
export function effectiveStatus(stored: { status: ConnectorStatus; pendingAuthExpiresAt?: string | null }, now: Date): ConnectorStatus {
  if (stored.status === 'pending_auth' && stored.pendingAuthExpiresAt && stored.pendingAuthExpiresAt <= now.toISOString()) {
    return lifecycle.authorizationExpired.to;
  }
  return stored.status;
}

/** Whether the table lets `row` happen in `status`. */
export function allows(row: LifecycleRow, status: ConnectorStatus): boolean {
  return (lifecycle[row].from as readonly ConnectorStatus[]).includes(status);
}

/**
 * Which source a connection reads, as a digest of its config (a Salesforce org's instance, a
 * Delivr.ai organization, a Customer.io region). A reconnect to another source makes the next
 * full sync remove whatever it does not see, even where full syncs read only a window.
 */
export function sourceKeyOf(config: Record<string, unknown>): string {
  const sorted = Object.keys(config)
    .sort()
    .map((key) => [key, config[key]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 22);
}

/** Whether connecting to `next` replaces another source than the one last connected. */
export function isAnotherSource(previousKey: string | null, nextKey: string): boolean {
  return previousKey !== null && previousKey !== nextKey;
}
