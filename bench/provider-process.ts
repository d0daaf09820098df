/**
 * The Salesforce sandbox in a process of its own, for the bench: a real provider is
 * another machine, so its work (building and serializing pages) must not run on the event
 * loop of the stack being measured. Started by remote-sandbox.ts with the data-set sizes
 * as its one argument (JSON); prints one line of JSON ({url, clientId, clientSecret}) when
 * it listens, and exits when its parent closes its stdin.
 */
import { startSalesforceSandbox } from '../local/sandboxes/salesforce';
import type { DataSetSizes } from '../local/sandboxes/salesforce/data';

const sizes = JSON.parse(process.argv[2] ?? '{}') as Partial<DataSetSizes>;
const sandbox = await startSalesforceSandbox(sizes);
process.stdout.write(`${JSON.stringify({ url: sandbox.url, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret })}\n`);
process.stdin.resume();
process.stdin.on('close', () => void sandbox.close().finally(() => process.exit(0)));
