import { customerIoSandboxOptionsFromEnv } from '../local/sandboxes/customerio';
import { delivrAiSandboxOptionsFromEnv } from '../local/sandboxes/delivrai';
import { fathomSandboxSizesFromEnv } from '../local/sandboxes/fathom';
import { o365SandboxContactsFromEnv } from '../local/sandboxes/o365';
import { salesforceSandboxSizesFromEnv } from '../local/sandboxes/salesforce';
import { startLocalStack } from '../local/stack';

/** `npm start`: the whole service on this machine. PORT (3000), LOCAL_STATE_DIR (.local/) and LOCAL_DYNAMODB_IN_MEMORY configure it. */
const port = Number(process.env.PORT ?? 3000);
const stateDir = process.env.LOCAL_STATE_DIR || '.local';

const stack = await startLocalStack({
  port,
  stateDir,
  salesforceSizes: salesforceSandboxSizesFromEnv(process.env),
  scheduleEveryMs: Number(process.env.SCHEDULE_EVERY_SECONDS ?? 60) * 1000,
  customerio: customerIoSandboxOptionsFromEnv(process.env),
  fathom: fathomSandboxSizesFromEnv(process.env),
  delivrai: delivrAiSandboxOptionsFromEnv(process.env),
  o365: { contacts: o365SandboxContactsFromEnv(process.env) },
  // LOCAL_DYNAMODB_IN_MEMORY=1: a faster, throwaway database (see the README).
  inMemoryDynamoDb: process.env.LOCAL_DYNAMODB_IN_MEMORY === '1',
  // A test switch: freeze the first execution that reaches this Task state ('State' or 'State:after'), to kill the stack there.
  ...(process.env.LOCAL_STEP_FUNCTIONS_HALT_AT && { stepFunctions: { haltAt: process.env.LOCAL_STEP_FUNCTIONS_HALT_AT } }),
  // A test switch: read the first domain events from the table's stream, then stop before publishing them.
  events: { haltBeforePublish: process.env.LOCAL_EVENTS_HALT_BEFORE_PUBLISH === '1' },
  // After an OAuth consent, people land back on the connections page (unless APP_URL says where).
  oauthReturnsToPage: true,
});
console.log(`connector service ready at ${stack.url} (state in ${stack.stateDir}); connections page: ${stack.pageUrl}`);
console.log(`  DynamoDB Local: ${stack.dynamoDbEndpoint}, table ${stack.tableName}`);
console.log(`  events: ${stack.events.file} (one EventBridge event a line)`);
if (stack.salesforce) console.log(`  Salesforce sandbox: ${stack.salesforce.url}`);
if (stack.customerio) console.log(`  Customer.io sandbox: ${stack.customerio.url} (API key: sandbox-key)`);
if (stack.fathom) console.log(`  Fathom sandbox: ${stack.fathom.url} (API key: sandbox-key)`);
if (stack.delivrai) {
  const { url, apiKey, apiSecret, pixelId, organizationId } = stack.delivrai;
  console.log(`  Delivr.ai sandbox: ${url} (API key: ${apiKey} with API secret: ${apiSecret} and pixelId: ${pixelId}; or the key alone with organizationId: ${organizationId})`);
}
if (stack.o365) console.log(`  Office 365 sandbox: ${stack.o365.url}`);
console.log(`  sign in to the page: ${stack.url}/local/sign-in?tenant=acme&role=admin (or role=member)`);
console.log(`  token: npm run --silent token -- --tenant <tenantId> --role <admin|member>`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
