const numbers = new Intl.NumberFormat(undefined);
const dateTimes = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const shortDateTimes = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });

export const formatCount = (value: number): string => numbers.format(value);

export const formatTime = (iso: string): string => dateTimes.format(new Date(iso));

/** The same, shorter, for table cells. */
export const formatShortTime = (iso: string): string => shortDateTimes.format(new Date(iso));

/** "2 min 5 s", "45 s": how long a sync took. */
export function formatDuration(fromIso: string, toIso: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${seconds % 60} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const STATUS_LABELS: Record<string, string> = {
  connected: 'Connected',
  disconnected: 'Not connected',
  pending_auth: 'Waiting for consent',
  syncing: 'Syncing',
  error: 'Error',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** A status as a badge: its word, and a class that colours it. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.replace(/_/g, '-')}`}>{STATUS_LABELS[status] ?? status}</span>;
}
