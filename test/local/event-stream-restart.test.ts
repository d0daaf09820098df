/**
 * No domain event is lost when the consumer dies between reading the table's stream and
 * publishing: the whole stack (`npm start` in a child process, DynamoDB Local included) is
 * killed with records read but not yet handed to the publisher, and started again on the
 * same state; the event arrives, once.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../functions/core/domain-events';
import { api, startChildStack, until } from '../support/child-stack';

async function publishedEvents(stateDir: string): Promise<DomainEvent[]> {
  const text = await readFile(join(stateDir, 'events.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DomainEvent);
}

describe('the local event stream across kill -9 and restart', () => {
  let stateDir: string;
  afterEach(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('publishes an event read but not published when the stack was killed, once', { timeout: 90_000 }, async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'connector-events-'));
    let stack = await startChildStack(stateDir, { LOCAL_EVENTS_HALT_BEFORE_PUBLISH: '1' });
    await api(stack, stateDir).connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    await stack.printed(/events: halted before publishing \d+ stream record/);
    expect(await publishedEvents(stateDir)).toEqual([]);
    await stack.kill();

    stack = await startChildStack(stateDir);
    const events = await until(async () => {
      const published = await publishedEvents(stateDir);
      return published.length > 0 ? published : undefined;
    });
    expect(events.map((event) => event['detail-type'])).toEqual(['Connector Connected']);
    expect(events[0]!.detail).toMatchObject({ providerId: 'customerio', reconnected: false });

    // What happens after the restart is published too, after it and once.
    await api(stack, stateDir).disconnect.mutate({ connectorId: 'customerio' });
    await until(async () => (await publishedEvents(stateDir)).length >= 2);
    expect((await publishedEvents(stateDir)).map((event) => event['detail-type'])).toEqual(['Connector Connected', 'Connector Disconnected']);
    await stack.kill();
  });
});
