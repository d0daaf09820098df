/**
 * Starts bench/provider-process.ts and drives its sandbox over the sandbox's own control
 * endpoints (`/__sandbox/*`), the way a separately running local stack would.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { SalesforceObjectCounts, SalesforceSandboxStats, SObjectType } from '../local/sandboxes/salesforce';
import type { DataSetSizes } from '../local/sandboxes/salesforce/data';

export interface RemoteSalesforceSandbox {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The provider's process, so the bench can tell its CPU and memory from the stack's. */
  readonly pid: number;
  counts(): Promise<SalesforceObjectCounts>;
  entityCounts(): Promise<{ accounts: number; people: number; opportunities: number }>;
  /** The live records of the sandbox org `org` (see `orgs` in the sizes), as entity counts. */
  orgEntityCounts(org: string): Promise<{ accounts: number; people: number; opportunities: number }>;
  /** The org the next consents log into (null: the first). */
  consentAs(org: string | null): Promise<void>;
  /** Changes `count` live records of `object`; answers their ids. */
  modify(object: SObjectType, count: number): Promise<string[]>;
  stats(): Promise<SalesforceSandboxStats>;
  resetStats(): Promise<void>;
  close(): Promise<void>;
}

export async function startRemoteSalesforceSandbox(sizes: Partial<DataSetSizes>): Promise<RemoteSalesforceSandbox> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./provider-process.ts', import.meta.url).pathname, JSON.stringify(sizes)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the provider process exited (${code}) before it listened`)));
  });
  const { url, clientId, clientSecret } = JSON.parse(first) as { url: string; clientId: string; clientSecret: string };
  const control = async <T>(path: string, body?: unknown): Promise<T> => {
    const answer = await fetch(new URL(`/__sandbox/${path}`, url), body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (!answer.ok) throw new Error(`sandbox control ${path}: HTTP ${answer.status} ${await answer.text()}`);
    return (await answer.json()) as T;
  };
  type EntityCounts = { accounts: number; people: number; opportunities: number };
  type State = { counts: SalesforceObjectCounts; entityCounts: EntityCounts; stats: SalesforceSandboxStats; orgs: { id: string; entityCounts: EntityCounts }[] };
  return {
    url,
    clientId,
    clientSecret,
    pid: child.pid!,
    counts: async () => (await control<State>('state')).counts,
    entityCounts: async () => (await control<State>('state')).entityCounts,
    orgEntityCounts: async (org) => {
      const found = (await control<State>('state')).orgs.find(({ id }) => id === org);
      if (!found) throw new Error(`the sandbox has no org ${org}`);
      return found.entityCounts;
    },
    consentAs: async (org) => void (await control('failures', { consentAs: org })),
    modify: async (object, count) => (await control<{ changed: { modify: Record<string, string[]> } }>('data', { modify: { [object]: count } })).changed.modify[object] ?? [],
    stats: async () => (await control<State>('state')).stats,
    resetStats: async () => void (await control('stats/reset', {})),
    close: async () => {
      child.stdin?.end();
      await exited;
    },
  };
}
