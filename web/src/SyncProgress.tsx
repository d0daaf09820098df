import { useEffect, useId, useState } from 'react';
import { formatCount, formatDuration, formatTime } from './format';
import { recordsOf, type SyncFigures } from './progress';

/** A running sync's figures so far, as `getStatus.latestSync` has them, with a bar and how long it has run. */
export function SyncProgress(props: { latestSync: SyncFigures; expected: number | undefined; startedAt: string | undefined }) {
  const id = useId();
  const now = useNow();
  const { latestSync, expected, startedAt } = props;
  const done = recordsOf(latestSync);
  // A sync can go past what was expected (the source grew): the bar then stops claiming to know.
  const determinate = expected !== undefined && done <= expected;
  return (
    <div className="progress">
      <p id={`${id}-label`}>
        {latestSync.syncType === 'full' ? 'Full sync' : 'Incremental sync'} running:{' '}
        <strong data-testid="records-so-far">{formatCount(done)}</strong>
        {determinate ? ` of about ${formatCount(expected)}` : ''} records written so far
      </p>
      {determinate ? <progress aria-labelledby={`${id}-label`} max={expected} value={done} /> : <progress aria-labelledby={`${id}-label`} />}
      <p className="figures">
        {formatCount(latestSync.recordsCreated)} created · {formatCount(latestSync.recordsUpdated)} updated ·{' '}
        {formatCount(latestSync.recordsDeleted)} deleted
        {latestSync.recordsFailed > 0 && <> · {formatCount(latestSync.recordsFailed)} failed</>}
        {startedAt && (
          <>
            {' '}
            · started <time dateTime={startedAt}>{formatTime(startedAt)}</time>, {formatDuration(startedAt, now.toISOString())} ago
          </>
        )}
      </p>
    </div>
  );
}

/** The time, once a second: a running sync's age moves even when its figures do not. */
function useNow(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}
