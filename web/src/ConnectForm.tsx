import { useMutation } from '@tanstack/react-query';
import { useId, type FormEvent } from 'react';
import { describeError } from './errors';
import type { ConnectMethod } from './providers';
import { useTRPC } from './trpc';

/** The API key and settings of an API-key provider; `connect` checks the key with the provider before keeping it. */
export function ConnectForm(props: {
  connectorId: string;
  name: string;
  method: Extract<ConnectMethod, { kind: 'apiKey' }>;
  onDone: () => void;
  onCancel: () => void;
}) {
  const trpc = useTRPC();
  const id = useId();
  const connect = useMutation(trpc.connector.connect.mutationOptions({ onSuccess: props.onDone }));
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    // An optional setting left empty is not sent at all.
    const config = Object.fromEntries(props.method.fields.map((field) => [field.name, text(field.name)]).filter(([, value]) => value !== ''));
    const apiSecret = text('apiSecret');
    connect.mutate({
      connectorId: props.connectorId,
      apiKey: text('apiKey'),
      ...(apiSecret !== '' && { apiSecret }),
      ...(Object.keys(config).length > 0 && { config }),
    });
  };
  return (
    <form className="connect-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Connect {props.name}</h3>
      <div className="fields">
        <label>
          {props.method.keyLabel}
          <input name="apiKey" type="password" required maxLength={1024} autoComplete="off" spellCheck={false} />
        </label>
        {props.method.secretLabel && (
          <label>
            {props.method.secretLabel}
            <input name="apiSecret" type="password" maxLength={1024} autoComplete="off" spellCheck={false} />
          </label>
        )}
        {props.method.fields.map((field) =>
          field.kind === 'choice' ? (
            <label key={field.name}>
              {field.label}
              <select name={field.name} defaultValue={field.options[0]?.value}>
                {field.options.map((option) => (
                  <option key={option.value} value={option.value}>
                    {option.label}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <label key={field.name}>
              {field.label}
              <input name={field.name} required={!field.optional} autoComplete="off" spellCheck={false} placeholder={field.hint} />
            </label>
          ),
        )}
      </div>
      {connect.isError && (
        <p className="alert" role="alert">
          {describeError(connect.error)}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={connect.isPending}>
          {connect.isPending ? 'Checking the key…' : `Connect ${props.name}`}
        </button>
        <button type="button" onClick={props.onCancel} disabled={connect.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
