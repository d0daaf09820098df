import { useMutation } from '@tanstack/react-query';
import { useId, type FormEvent } from 'react';
import type { ConnectorStatus } from './api-types';
import { describeError } from './errors';
import { useTRPC } from './trpc';

const MIN_INTERVAL = 15;
const MAX_INTERVAL = 1440;

type ScheduleState = Pick<ConnectorStatus['schedule'], 'intervalMinutes' | 'paused'>;

/** When the connector syncs on its own: every N minutes (15 to 1440), or paused. */
export function Schedule(props: { connectorId: string; schedule: ScheduleState; readOnly: boolean; onChanged: () => unknown }) {
  const trpc = useTRPC();
  const id = useId();
  const setSchedule = useMutation(trpc.connector.setSchedule.mutationOptions({ onSuccess: () => props.onChanged() }));
  const { intervalMinutes, paused } = props.schedule;
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const minutes = Number(new FormData(event.currentTarget).get('intervalMinutes'));
    setSchedule.mutate({ connectorId: props.connectorId, intervalMinutes: minutes });
  };
  const adminOnly = props.readOnly ? { disabled: true, 'aria-describedby': 'read-only-note' } : { disabled: setSchedule.isPending };
  return (
    <section className="schedule" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Schedule</h3>
      <p>{paused ? `Scheduled syncs are paused (the interval stays ${intervalMinutes} minutes).` : `Syncs every ${intervalMinutes} minutes.`}</p>
      <form onSubmit={submit} className="inline-form">
        <label>
          Every
          <input
            key={intervalMinutes}
            name="intervalMinutes"
            aria-label="Minutes between syncs"
            type="number"
            min={MIN_INTERVAL}
            max={MAX_INTERVAL}
            step={1}
            required
            defaultValue={intervalMinutes}
            {...(props.readOnly && { readOnly: true })}
          />
          minutes
        </label>
        <button type="submit" aria-label="Save schedule" {...adminOnly}>
          Save
        </button>
        <button
          type="button"
          onClick={() => setSchedule.mutate({ connectorId: props.connectorId, intervalMinutes: paused ? intervalMinutes : null })}
          {...adminOnly}
        >
          {paused ? 'Resume scheduled syncs' : 'Pause scheduled syncs'}
        </button>
      </form>
      {setSchedule.isError && (
        <p className="alert" role="alert">
          {describeError(setSchedule.error)}
        </p>
      )}
    </section>
  );
}
