import { useMutation } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { describeError } from './errors';
import { useTRPC } from './trpc';

/** Asks before disconnecting (a modal <dialog>), and whether to delete the synced data too. */
export function DisconnectDialog(props: { connectorId: string; name: string; onClose: (disconnected: boolean) => void }) {
  const trpc = useTRPC();
  const id = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const [purgeData, setPurgeData] = useState(false);
  const disconnect = useMutation(trpc.connector.disconnect.mutationOptions({ onSuccess: () => props.onClose(true) }));
  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-text`}
      // Escape closes a modal dialog: the same as "Keep it connected".
      onCancel={(event) => {
        event.preventDefault();
        if (!disconnect.isPending) props.onClose(false);
      }}
    >
      <h2 id={`${id}-title`}>Disconnect {props.name}?</h2>
      <p id={`${id}-text`}>
        Its credentials are removed (and revoked with {props.name} where it allows that), a running sync is cancelled, and no
        sync runs until it is connected again. Its sync history stays.
      </p>
      <label className="check">
        <input type="checkbox" checked={purgeData} onChange={(event) => setPurgeData(event.target.checked)} />
        Also delete the accounts, people and opportunities synced from {props.name}
      </label>
      {disconnect.isError && (
        <p className="alert" role="alert">
          {describeError(disconnect.error)}
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={disconnect.isPending}
          onClick={() => disconnect.mutate({ connectorId: props.connectorId, purgeData })}
        >
          {disconnect.isPending ? 'Disconnecting…' : `Disconnect ${props.name}`}
        </button>
        <button type="button" autoFocus disabled={disconnect.isPending} onClick={() => props.onClose(false)}>
          Keep it connected
        </button>
      </div>
    </dialog>
  );
}
