import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../local/dynamodb-local';
import { ConnectorFunction } from '../../lib/connector-function';
import type { ConnectorServiceStack } from '../../lib/connector-service-stack';
import {
  API_HANDLERS_DIR,
  API_ROUTES_FILE,
  LAMBDA_BUNDLING,
  SYNC_HANDLERS_DIR,
  SYNC_STATE_MACHINE_FILE,
  SYNC_TASKS_FILE,
} from '../../lib/lambda-defaults';
import { API_FUNCTION_TIMEOUT_MS, MAX_SEQUENTIAL_PROVIDER_CALLS_PER_REQUEST, PROVIDER_CALL_TIMEOUT_MS } from '../../functions/core/timeouts';
import {
  assertNoDependencyCycle,
  cdkContext,
  CFN_LINT,
  cfnLint,
  cfnResourcesOf,
  dependencies,
  getAtt,
  logicalIdIn,
  nagAcknowledgements,
  nagFindings,
  nagFindingsUnacknowledged,
  ofType,
  only,
  statementsOfFunction,
  statementsOfRole,
  synthesizeStack,
  type Resource,
  type Statement,
  type Synthesized,
} from './stack-synth';

/** The API functions' timeout in seconds, as Lambda takes it. */
const API_FUNCTION_TIMEOUT_S = Math.ceil(API_FUNCTION_TIMEOUT_MS / 1000);

type RawRoute = { method: string; path: string; handler: string; auth: 'jwt' | 'none'; grants: string[] };

// The data files read raw, independent of the loaders under test.
const routes = (JSON.parse(readFileSync(API_ROUTES_FILE, 'utf8')) as { routes: RawRoute[] }).routes;
const apiHandlers = [...new Set(routes.map((route) => route.handler))];
const syncTasks = Object.entries(JSON.parse(readFileSync(SYNC_TASKS_FILE, 'utf8')) as Record<string, string>).filter(
  ([placeholder]) => !placeholder.startsWith('$'),
);
const syncDefinition = readFileSync(SYNC_STATE_MACHINE_FILE, 'utf8');

/**
 * What each function outside the API may do, written out here so that widening a grant in
 * lib/ fails this test until someone decides it here too.
 */
const SYNC_FUNCTION_GRANTS: Record<string, string[]> = {
  'sync/syncPage': ['table:readWrite', 'key:encryptDecrypt', 'secret:oauthClients'],
  'sync/sweepPage': ['table:readWrite'],
  'sync/purgePage': ['table:readWrite'],
  'sync/finishSync': ['table:readWrite'],
  'sync/failSync': ['table:readWrite'],
  'sync/scheduledSync': ['table:querySchedule', 'table:readWrite', 'stateMachine:start'],
  'sync/recoverSync': ['table:readWrite'],
  // The table stream's consumer: the stream and the bus, never the table or the key.
  'events/publishEvents': ['table:streamRead', 'events:put'],
};
/** Memory (MB) and timeout (s) of each function outside the API; API functions have 256 MB and {@link API_FUNCTION_TIMEOUT_S}. */
const SYNC_FUNCTION_SIZES: Record<string, { MemorySize: number; Timeout: number }> = {
  'sync/syncPage': { MemorySize: 1024, Timeout: 300 },
  'sync/sweepPage': { MemorySize: 1024, Timeout: 300 },
  'sync/purgePage': { MemorySize: 1024, Timeout: 300 },
  // A full sync's finish counts every live entity of the connector to reconcile its counters.
  'sync/finishSync': { MemorySize: 1024, Timeout: 300 },
  'sync/failSync': { MemorySize: 1024, Timeout: 300 },
  'sync/scheduledSync': { MemorySize: 256, Timeout: 60 },
  'sync/recoverSync': { MemorySize: 1024, Timeout: 300 },
  'events/publishEvents': { MemorySize: 256, Timeout: 60 },
};
const grantsOf = (label: string): Set<string> =>
  label.startsWith('api/')
    ? new Set(routes.filter((route) => `api/${route.handler}` === label).flatMap((route) => route.grants))
    : new Set(SYNC_FUNCTION_GRANTS[label] ?? []);
const allLabels = [...apiHandlers.map((h) => `api/${h}`), ...Object.keys(SYNC_FUNCTION_GRANTS)];

const DYNAMODB_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:TransactWriteItems',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

/** Where the test's cloud assemblies go; removed after the tests. */
const outRoot = mkdtempSync(join(tmpdir(), 'connector-stack-'));

/** Synthesizes the stack for `env` into this file's temporary folder (see synthesizeStack). */
function synthesize(env: string, overrides: Record<string, unknown> = {}): Synthesized {
  return synthesizeStack(join(outRoot, `${env}-${Object.keys(overrides).join('-')}`), env, overrides);
}

/** Every function of the stack by label: `api/<handler>` for the API, `sync/<handler>` for the sync, `events/<handler>` for the publisher. */
function functionsOf(stack: ConnectorServiceStack): Map<string, ConnectorFunction> {
  return new Map([
    ...[...stack.api.functions].map(([handler, fn]) => [`api/${handler}`, fn] as const),
    ...[...stack.sync.functions].map(([handler, fn]) => [`sync/${handler}`, fn] as const),
    ['sync/scheduledSync', stack.scheduledSync.function] as const,
    ['sync/recoverSync', stack.syncRecovery.function] as const,
    ['events/publishEvents', stack.domainEvents.function] as const,
  ]);
}

/** The label of each Lambda function of the template, by logical id (from the construct tree). */
function labelByLogicalId({ stack }: Synthesized): Map<string, string> {
  return new Map([...functionsOf(stack)].map(([label, fn]) => [logicalIdIn(stack, fn.function), label]));
}

function functionsByLabel(synth: Synthesized): Map<string, Resource> {
  const labels = labelByLogicalId(synth);
  return new Map(ofType(synth.resources, 'AWS::Lambda::Function').map(([id, fn]) => [labels.get(id) ?? id, fn]));
}

/** Whether an IAM action pattern (which may hold `*`) allows `action`. */
function allows(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return regex.test(action);
}

const actionsOf = (statements: { Action: string[] }[]) => statements.flatMap((statement) => statement.Action);
const resourcesOf = (statements: Statement[], action: string) =>
  statements.filter((statement) => statement.Action.some((a) => allows(a, action))).flatMap((statement) => [statement.Resource].flat());
const versionsOf = (id: string) => ({ 'Fn::Join': ['', [getAtt(id), ':*']] });
/** Every execution of a state machine (by logical id): `arn:...:execution:<machine name>:*`. */
const executionsOf = (id: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', getAtt(id, 'Name'), ':*'],
  ],
});

describe('ConnectorServiceStack', () => {
  // One synth per environment, shared by every test of that environment.
  const synths: Record<'dev' | 'prod', Synthesized> = {} as never;
  beforeAll(() => {
    synths.dev = synthesize('dev');
    synths.prod = synthesize('prod');
  });
  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  describe('bundling', () => {
    // Bundling runs esbuild once per function (through npx, about a second each), so the stack
    // synths above skip it; this probe bundles one API and one sync handler exactly as the
    // stack's functions are bundled. bundle-size.test.ts builds every handler with the same options.
    it('bundles handlers locally with esbuild (no Docker) into an ESM file with the createRequire banner', () => {
      const app = new App({ outdir: join(outRoot, 'bundling'), context: { ...cdkContext } });
      const stack = new Stack(app, 'BundlingProbe');
      const probes = [join(API_HANDLERS_DIR, `${apiHandlers[0]}.ts`), join(SYNC_HANDLERS_DIR, `${syncTasks[0]![1]}.ts`)];
      const ids = probes.map((entry, i) => logicalIdIn(stack, new ConnectorFunction(stack, `Probe${i}`, { entry, environment: {} }).function));
      const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
      for (const [i, id] of ids.entries()) {
        // The code's S3 key is `<asset hash>.zip`; the staged asset is the folder `asset.<hash>`.
        const hash = String(resources[id]!.Properties.Code.S3Key).replace(/\.zip$/, '');
        const bundle = join(app.outdir, `asset.${hash}`, 'index.mjs');
        expect(existsSync(bundle), `${probes[i]} has no bundle at ${bundle}`).toBe(true);
        expect(statSync(bundle).size).toBeGreaterThan(0);
        expect(readFileSync(bundle, 'utf8').startsWith(LAMBDA_BUNDLING.banner)).toBe(true);
        expect(existsSync(`${bundle}.map`)).toBe(true);
      }
    });
  });

  describe.each(['dev', 'prod'] as const)('in %s', (env) => {
    const s = () => synths[env];
    const idOf = (construct: IConstruct) => logicalIdIn(s().stack, construct);
    const stateMachineId = () => idOf(s().stack.sync.stateMachine);
    const secretId = () => idOf(s().stack.salesforceClientSecret.secret);
    const o365SecretId = () => idOf(s().stack.o365ClientSecret!.secret);
    /** Every OAuth client secret of the stack (cdk.json configures Office 365 in dev and prod). */
    const secretRefs = () => [{ Ref: secretId() }, { Ref: o365SecretId() }];
    const functionId = (label: string) => idOf(functionsOf(s().stack).get(label)!.function);
    /** The credentials key (the alarm topic has a key of its own). */
    const keyId = () => idOf(s().stack.encryptionKey.key);
    const busId = () => idOf(s().stack.domainEvents.eventBus);

    describe(CFN_LINT ? 'CloudFormation (cfn-lint)' : 'CloudFormation (cfn-lint is not installed here: the deployability check is skipped)', () => {
      it.skipIf(!CFN_LINT)('passes cfn-lint: the template deploys, not only synthesizes', () => {
        const lint = cfnLint(s().template, join(outRoot, `${env}.template.json`));
        expect(lint.output).toBe('');
        expect(lint.status).toBe(0);
      });
    });

    describe('functions', () => {
      it('runs every function on Node.js 24 on arm64 with active tracing, each with its memory and timeout', () => {
        for (const [label, fn] of functionsByLabel(s())) {
          expect(fn.Properties, label).toMatchObject({
            Runtime: 'nodejs24.x',
            Architectures: ['arm64'],
            TracingConfig: { Mode: 'Active' },
            Handler: 'index.handler',
            ...(SYNC_FUNCTION_SIZES[label] ?? { MemorySize: 256, Timeout: API_FUNCTION_TIMEOUT_S }),
          });
        }
      });

      it('gives every API function more time than the provider calls one request makes one after another', () => {
        const longestProviderCallsMs = MAX_SEQUENTIAL_PROVIDER_CALLS_PER_REQUEST * PROVIDER_CALL_TIMEOUT_MS;
        for (const [label, fn] of functionsByLabel(s())) {
          if (!label.startsWith('api/')) continue;
          expect((fn.Properties as { Timeout: number }).Timeout * 1000, label).toBeGreaterThan(longestProviderCallsMs);
        }
      });

      it('creates exactly one function per API handler of routes.json, per step of sync.tasks.json, and the scheduled-sync, recovery and event-publishing functions', () => {
        const inTemplate = ofType(s().resources, 'AWS::Lambda::Function').map(([id]) => id);
        const byLogicalId = labelByLogicalId(s());
        expect(inTemplate.sort()).toEqual([...byLogicalId.keys()].sort());
        expect([...byLogicalId.values()].sort()).toEqual([...allLabels].sort());
        expect([...s().stack.sync.functions.keys()].sort()).toEqual([...new Set(syncTasks.map(([, handler]) => handler))].sort());
      });

      it('gives every function its own log group, kept for the retention days of the environment', () => {
        const logGroups = new Set(ofType(s().resources, 'AWS::Logs::LogGroup').map(([id]) => id));
        const used = ofType(s().resources, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties.LoggingConfig.LogGroup.Ref as string);
        expect(used.every((id) => logGroups.has(id))).toBe(true);
        expect(new Set(used).size).toBe(used.length);
        s().template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: s().config.logRetention });
      });

      it('gives every function the runtime configuration it needs', () => {
        const [tableId] = only(s().resources, 'AWS::DynamoDB::GlobalTable');
        const [apiId] = only(s().resources, 'AWS::ApiGatewayV2::Api');
        s().template.allResourcesProperties('AWS::Lambda::Function', {
          Environment: {
            Variables: {
              TABLE_NAME: { Ref: tableId },
              CONNECTOR_ENCRYPTION_KEY: getAtt(keyId()),
              TENANT_CLAIM: s().config.tenantClaim,
              ROLE_CLAIM: s().config.roleClaim,
              ADMIN_ROLE: s().config.adminRole,
              SALESFORCE_CLIENT_ID: s().config.salesforce.clientId,
              SALESFORCE_LOGIN_URL: s().config.salesforce.loginUrl,
              O365_CLIENT_ID: s().config.o365!.clientId,
              O365_TENANT: 'common',
              OAUTH_REDIRECT_BASE_URL: getAtt(apiId, 'ApiEndpoint'),
              APP_URL: s().config.appUrl,
              POWERTOOLS_SERVICE_NAME: 'connector',
              // The metrics' environment dimension, which the alarms and the dashboard read.
              ENVIRONMENT_NAME: env,
              POWERTOOLS_LOG_LEVEL: 'INFO',
              NODE_OPTIONS: '--enable-source-maps',
            },
          },
        });
      });

      it('names the state machine, the client secrets and the event bus only to the functions granted their use', () => {
        for (const [label, fn] of functionsByLabel(s())) {
          const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
          const grants = grantsOf(label);
          const usesMachine = grants.has('stateMachine:start') || grants.has('stateMachine:stop');
          expect(variables.STATE_MACHINE_ARN, label).toEqual(usesMachine ? { Ref: stateMachineId() } : undefined);
          expect(variables.SALESFORCE_CLIENT_SECRET_ARN, label).toEqual(grants.has('secret:oauthClients') ? { Ref: secretId() } : undefined);
          expect(variables.O365_CLIENT_SECRET_ARN, label).toEqual(grants.has('secret:oauthClients') ? { Ref: o365SecretId() } : undefined);
          expect(variables.EVENT_BUS_NAME, label).toEqual(grants.has('events:put') ? { Ref: busId() } : undefined);
        }
      });
    });

    describe('permissions', () => {
      const statementsByLabel = () =>
        new Map([...functionsByLabel(s())].map(([label, fn]) => [label, statementsOfFunction(s().resources, fn)] as const));

      it('gives read-only procedures no write, key, secret or state machine permission', () => {
        const readOnly = apiHandlers.filter((h) => [...grantsOf(`api/${h}`)].every((grant) => grant === 'table:read'));
        expect(readOnly.length).toBeGreaterThan(0);
        const statements = statementsByLabel();
        for (const handler of readOnly) {
          const actions = actionsOf(statements.get(`api/${handler}`)!);
          expect(actions).toContain('dynamodb:Query');
          for (const write of DYNAMODB_WRITES) {
            expect(actions.filter((a) => allows(a, write)), `${handler} may ${write}`).toEqual([]);
          }
          for (const service of ['kms:', 'secretsmanager:', 'states:']) {
            expect(actions.filter((a) => a.toLowerCase().startsWith(service)), `${handler} may use ${service}`).toEqual([]);
          }
        }
      });

      it('gives every function exactly the access its grants say, on exactly the granted resource', () => {
        const [tableId] = only(s().resources, 'AWS::DynamoDB::GlobalTable');
        for (const [label, statements] of statementsByLabel()) {
          const grants = grantsOf(label);
          const may = (action: string) => actionsOf(statements).some((a) => allows(a, action));
          const writes = grants.has('table:readWrite');
          for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
            expect(may(write), `${label} ${write}`).toBe(writes);
          }
          expect(may('dynamodb:GetItem'), `${label} dynamodb:GetItem`).toBe(grants.has('table:read') || writes);
          expect(may('kms:Decrypt'), `${label} kms:Decrypt`).toBe(grants.has('key:decrypt') || grants.has('key:encryptDecrypt'));
          expect(may('kms:GenerateDataKey'), `${label} kms:GenerateDataKey`).toBe(grants.has('key:encryptDecrypt'));
          expect(may('kms:Encrypt'), `${label} kms:Encrypt`).toBe(grants.has('key:encryptDecrypt'));
          expect(may('secretsmanager:GetSecretValue'), `${label} secretsmanager:GetSecretValue`).toBe(grants.has('secret:oauthClients'));
          expect(may('states:StartExecution'), `${label} states:StartExecution`).toBe(grants.has('stateMachine:start'));
          expect(may('states:StopExecution'), `${label} states:StopExecution`).toBe(grants.has('stateMachine:stop'));
          expect(may('dynamodb:DescribeStream'), `${label} dynamodb:DescribeStream`).toBe(grants.has('table:streamRead'));
          expect(may('events:PutEvents'), `${label} events:PutEvents`).toBe(grants.has('events:put'));

          // Each permission names only its resource: the table (never its indexes, but the
          // bySchedule index for the scheduled sync's Query, and the stream for its consumer), the
          // key, the secret, the machine, the bus.
          const dynamodb = statements.filter((statement) => statement.Action.some((a) => a.startsWith('dynamodb:')));
          for (const statement of dynamodb) {
            const isIndexQuery = JSON.stringify(statement.Resource).includes('/index/');
            const isStream = JSON.stringify(statement.Resource).includes('StreamArn');
            if (isIndexQuery) {
              expect(grants.has('table:querySchedule'), `${label} queries an index`).toBe(true);
              expect(statement).toMatchObject({ Action: ['dynamodb:Query'], Resource: { 'Fn::Join': ['', [getAtt(tableId), '/index/bySchedule']] } });
            } else if (isStream) {
              expect(grants.has('table:streamRead'), `${label} reads the stream`).toBe(true);
              expect(statement).toEqual({
                Effect: 'Allow',
                Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
                Resource: getAtt(tableId, 'StreamArn'),
              });
            } else {
              expect(statement.Resource, `${label} dynamodb resource`).toEqual(getAtt(tableId));
            }
          }
          for (const resource of resourcesOf(statements, 'events:PutEvents')) expect(resource, label).toEqual(getAtt(busId()));
          for (const resource of resourcesOf(statements, 'kms:Decrypt')) expect(resource, label).toEqual(getAtt(keyId()));
          const secrets = resourcesOf(statements, 'secretsmanager:GetSecretValue');
          expect(secrets, label).toHaveLength(new Set(secrets.map((r) => JSON.stringify(r))).size);
          expect(secrets, label).toEqual(grants.has('secret:oauthClients') ? expect.arrayContaining(secretRefs()) : []);
          for (const resource of secrets) expect(secretRefs(), label).toContainEqual(resource);
          // Starting names the machine; stopping, the machine's executions (named at run time by sync id).
          const states = statements.filter((statement) => statement.Action.some((a) => a.startsWith('states:')));
          expect(states, label).toEqual([
            ...(grants.has('stateMachine:start') ? [{ Effect: 'Allow', Action: ['states:StartExecution'], Resource: { Ref: stateMachineId() } }] : []),
            ...(grants.has('stateMachine:stop') ? [{ Effect: 'Allow', Action: ['states:StopExecution'], Resource: executionsOf(stateMachineId()) }] : []),
          ]);
        }
      });

      it('lets triggerSync and batchMutation start executions of the sync state machine only, and no sync step start any', () => {
        const statements = statementsByLabel();
        for (const label of ['api/triggerSync', 'api/batchMutation', 'sync/scheduledSync']) {
          expect(resourcesOf(statements.get(label)!, 'states:StartExecution'), label).toEqual([{ Ref: stateMachineId() }]);
        }
        for (const [, handler] of syncTasks) {
          expect(actionsOf(statements.get(`sync/${handler}`)!).filter((a) => allows(a, 'states:StartExecution')), handler).toEqual([]);
        }
      });

      it('lets the OAuth callback and the sync page step (which refreshes tokens) read the Salesforce and Office 365 client secrets, and nothing else any secret', () => {
        const statements = statementsByLabel();
        const readers = ['api/oauthCallback', 'sync/syncPage'];
        for (const label of readers) {
          for (const action of ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']) {
            const resources = resourcesOf(statements.get(label)!, action);
            expect(resources, `${label} ${action}`).toHaveLength(2);
            expect(resources, `${label} ${action}`).toEqual(expect.arrayContaining(secretRefs()));
          }
        }
        for (const [label, functionStatements] of statements) {
          if (readers.includes(label)) continue;
          expect(actionsOf(functionStatements).filter((a) => a.toLowerCase().startsWith('secretsmanager:')), label).toEqual([]);
        }
      });

      it('uses no managed policy, and gives a function role a wildcard resource only for X-Ray and, where granted, stopping the sync executions', () => {
        for (const [, role] of ofType(s().resources, 'AWS::IAM::Role')) {
          expect(role.Properties.ManagedPolicyArns).toBeUndefined();
        }
        const stoppers = allLabels.filter((label) => grantsOf(label).has('stateMachine:stop'));
        expect(stoppers.sort()).toEqual(['api/batchMutation', 'api/cancelSync', 'api/connect', 'api/disconnect', 'api/oauthCallback']);
        for (const [label, fn] of functionsByLabel(s())) {
          const wildcard = statementsOfFunction(s().resources, fn).filter((statement) => JSON.stringify(statement.Resource).includes('*'));
          const xray = wildcard.filter((statement) => statement.Action.every((action) => action.startsWith('xray:')));
          expect(xray.flatMap((statement) => statement.Action).sort(), label).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
          for (const statement of xray) expect(statement.Resource, label).toBe('*');
          // Executions are named by sync id at run time: the one other wildcard is every execution
          // of the sync state machine, for StopExecution only, in the roles granted stateMachine:stop.
          expect(wildcard.filter((statement) => !xray.includes(statement)), label).toEqual(
            stoppers.includes(label) ? [{ Effect: 'Allow', Action: ['states:StopExecution'], Resource: executionsOf(stateMachineId()) }] : [],
          );
        }
      });

      it('lets the state machine invoke only its step functions and start only itself', () => {
        const [, machine] = only(s().resources, 'AWS::StepFunctions::StateMachine');
        const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0] as string;
        const statements = statementsOfRole(s().resources, roleId);
        const steps = [...new Set(syncTasks.map(([, handler]) => functionId(`sync/${handler}`)))];
        expect(steps).toHaveLength(5);
        const invoked = resourcesOf(statements, 'lambda:InvokeFunction');
        expect(invoked).toHaveLength(steps.length * 2);
        expect(invoked).toEqual(expect.arrayContaining(steps.flatMap((id) => [getAtt(id), versionsOf(id)])));
        const started = resourcesOf(statements, 'states:StartExecution');
        expect(started).toEqual([
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:stateMachine:${machine.Properties.StateMachineName}`],
            ],
          },
        ]);
        // Everything else is what logging and tracing need, which supports no resource-level permission.
        const rest = statements.filter((statement) => !statement.Action.some((a) => a === 'lambda:InvokeFunction' || a === 'states:StartExecution'));
        for (const statement of rest) {
          expect(statement.Resource).toBe('*');
          for (const action of statement.Action) expect(action, action).toMatch(/^(logs:(\w+LogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)|xray:\w+)$/);
        }
        expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
      });

      it('lets EventBridge Scheduler invoke only the scheduled-sync function (and write only to its dead-letter queue), under a role only scheduler.amazonaws.com of this account assumes', () => {
        const [, schedule] = only(s().resources, 'AWS::Scheduler::Schedule');
        const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
        const statements = statementsOfRole(s().resources, roleId);
        const id = functionId('sync/scheduledSync');
        // Invoking, and sending what it could not deliver to its dead-letter queue.
        expect(actionsOf(statements).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
        expect(resourcesOf(statements, 'lambda:InvokeFunction')).toEqual([getAtt(id), versionsOf(id)]);
        expect(resourcesOf(statements, 'sqs:SendMessage')).toEqual([getAtt(idOf(s().stack.scheduledSync.deadLetters.queue))]);
        expect(s().resources[roleId]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
          expect.objectContaining({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: expect.objectContaining({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }) },
          }),
        ]);
      });
    });

    describe('sync', () => {
      it('deploys statemachines/sync.asl.json as written, with CloudFormation substituting each Task with its step function', () => {
        const [, machine] = only(s().resources, 'AWS::StepFunctions::StateMachine');
        expect(machine.Properties.DefinitionString).toBe(syncDefinition);
        const placeholders = new Set([...syncDefinition.matchAll(/\$\{([^}]*)\}/g)].map((match) => match[1]));
        expect([...placeholders].sort()).toEqual(syncTasks.map(([placeholder]) => placeholder).sort());
        expect(machine.Properties.DefinitionSubstitutions).toEqual(
          Object.fromEntries(syncTasks.map(([placeholder, handler]) => [placeholder, getAtt(functionId(`sync/${handler}`))])),
        );
      });

      it('is a Standard state machine that logs its errors with their execution data to its own log group, traced by X-Ray', () => {
        const [, machine] = only(s().resources, 'AWS::StepFunctions::StateMachine');
        expect(machine.Properties).toMatchObject({
          StateMachineName: `Connector-${env}-sync`,
          StateMachineType: 'STANDARD',
          TracingConfiguration: { Enabled: true },
          LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: true },
        });
        const logGroupId = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
        expect(logGroupId).toBe(idOf(s().stack.sync.logGroup));
        expect(s().resources[logGroupId]!.Properties.LogGroupName).toBe(`/aws/vendedlogs/states/Connector-${env}-sync`);
        const functionLogGroups = ofType(s().resources, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties.LoggingConfig.LogGroup.Ref);
        expect(functionLogGroups).not.toContain(logGroupId);
      });

      it('runs the scheduled sync every 5 minutes through EventBridge Scheduler', () => {
        const [, schedule] = only(s().resources, 'AWS::Scheduler::Schedule');
        expect(schedule.Properties).toMatchObject({
          ScheduleExpression: 'rate(5 minutes)',
          State: 'ENABLED',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: {
            Arn: getAtt(functionId('sync/scheduledSync')),
            RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 },
            DeadLetterConfig: { Arn: getAtt(idOf(s().stack.scheduledSync.deadLetters.queue)) },
          },
        });
      });

      it('sends executions of the sync state machine that failed, timed out or were aborted to the recovery function', () => {
        const [, rule] = only(s().resources, 'AWS::Events::Rule');
        expect(rule.Properties.EventPattern).toEqual({
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: stateMachineId() }] },
        });
        expect(rule.Properties.Targets).toEqual([
          expect.objectContaining({
            Arn: getAtt(functionId('sync/recoverSync')),
            RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 6 * 3600 },
            DeadLetterConfig: { Arn: getAtt(idOf(s().stack.syncRecovery.deadLetters.queue)) },
          }),
        ]);
        s().template.hasResourceProperties('AWS::Lambda::Permission', {
          Action: 'lambda:InvokeFunction',
          FunctionName: getAtt(functionId('sync/recoverSync')),
          Principal: 'events.amazonaws.com',
          SourceArn: getAtt(idOf(s().stack.syncRecovery.rule)),
        });
      });
    });

    describe('api', () => {
      it('serves exactly the routes of routes.json, each with its authorization type and handler', () => {
        const labels = labelByLogicalId(s());
        const integrationTarget = new Map(
          ofType(s().resources, 'AWS::ApiGatewayV2::Integration').map(([id, integration]) => [
            id,
            labels.get(integration.Properties.IntegrationUri['Fn::GetAtt'][0]),
          ]),
        );
        const served = ofType(s().resources, 'AWS::ApiGatewayV2::Route').map(([, route]) => {
          const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
          return {
            routeKey: route.Properties.RouteKey,
            authorizationType: route.Properties.AuthorizationType,
            handler: integrationTarget.get(integrationId.Ref),
          };
        });
        const expected = routes.map((route) => ({
          routeKey: `${route.method} ${route.path}`,
          authorizationType: route.auth === 'jwt' ? 'JWT' : 'NONE',
          handler: `api/${route.handler}`,
        }));
        const byKey = (a: { routeKey: string }, b: { routeKey: string }) => a.routeKey.localeCompare(b.routeKey);
        expect(served.sort(byKey)).toEqual(expected.sort(byKey));
      });

      it('checks JWTs against the issuer and audience of the environment', () => {
        s().template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
        s().template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
          AuthorizerType: 'JWT',
          IdentitySource: ['$request.header.Authorization'],
          JwtConfiguration: { Issuer: s().config.jwtIssuer, Audience: [...s().config.jwtAudience] },
        });
      });

      it('answers CORS preflight for the allowed origins of the environment', () => {
        s().template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
          CorsConfiguration: {
            AllowOrigins: [...s().config.allowedOrigins],
            AllowMethods: Match.arrayWith([...new Set(routes.map((route) => route.method))]),
            AllowHeaders: Match.arrayWith(['authorization', 'content-type']),
            AllowCredentials: false,
          },
        });
      });

      it('writes one JSON access log line per request with request id, route, status, latency and errors', () => {
        const [, stage] = only(s().resources, 'AWS::ApiGatewayV2::Stage');
        expect(stage.Properties.StageName).toBe('$default');
        const format = JSON.parse(stage.Properties.AccessLogSettings.Format as string) as Record<string, string>;
        expect(format).toMatchObject({
          requestId: '$context.requestId',
          routeKey: '$context.routeKey',
          status: '$context.status',
          latency: '$context.responseLatency',
          integrationError: '$context.integrationErrorMessage',
          authorizerError: '$context.authorizer.error',
          tenantId: `$context.authorizer.claims.${s().config.tenantClaim}`,
        });
        const logGroupId = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
        expect(s().resources[logGroupId]?.Type).toBe('AWS::Logs::LogGroup');
      });

      it('throttles every route of the stage by default', () => {
        s().template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
          DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
        });
      });
    });

    describe('data', () => {
      it('keeps everything in one table keyed pk/sk with the sparse bySchedule index and a stream, exactly as ensureTable creates it locally', async () => {
        // ensureTable (local/dynamodb-local.ts) run against a client that records its requests.
        const sent: { name: string; input: Record<string, any> }[] = [];
        const recorder = {
          send: async (command: { constructor: { name: string }; input: Record<string, any> }) => {
            sent.push({ name: command.constructor.name, input: command.input });
            return command.constructor.name === 'DescribeTimeToLiveCommand' ? { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } } : {};
          },
        };
        await ensureTable(recorder as unknown as DynamoDBClient, 'pinned');
        const created = sent.find((request) => request.name === 'CreateTableCommand')!.input;
        const ttl = sent.find((request) => request.name === 'UpdateTimeToLiveCommand')!.input;

        const [, table] = only(s().resources, 'AWS::DynamoDB::GlobalTable');
        s().template.resourceCountIs('AWS::DynamoDB::Table', 0);
        const byName = (a: { AttributeName: string }, b: { AttributeName: string }) => a.AttributeName.localeCompare(b.AttributeName);
        expect(table.Properties.KeySchema).toEqual(created.KeySchema);
        expect([...table.Properties.AttributeDefinitions].sort(byName)).toEqual([...created.AttributeDefinitions].sort(byName));
        expect(table.Properties.GlobalSecondaryIndexes).toEqual(created.GlobalSecondaryIndexes);
        expect(table.Properties.TimeToLiveSpecification).toEqual(ttl.TimeToLiveSpecification);
        expect(table.Properties.BillingMode).toBe(created.BillingMode);
        // The stream the domain events come from, with both images, on both sides.
        expect(created.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
        expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: created.StreamSpecification.StreamViewType });
        // The literal names the code on both sides uses (functions/core/repository/keys.ts).
        expect(table.Properties.GlobalSecondaryIndexes).toEqual([
          {
            IndexName: 'bySchedule',
            KeySchema: [
              { AttributeName: 'scheduleKey', KeyType: 'HASH' },
              { AttributeName: 'nextSyncAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['tenantId', 'providerId'] },
          },
        ]);
        expect(table.Properties).toMatchObject({
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
          Replicas: [expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
        });
      });

      it('rotates the credentials key yearly, under the alias alias/connector-<env>', () => {
        s().template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
        s().template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/connector-${env}` });
      });

      it('creates the Salesforce and Office 365 client secrets by name with no value in the template', () => {
        const secrets = ofType(s().resources, 'AWS::SecretsManager::Secret');
        expect(secrets.map(([id]) => id).sort()).toEqual([secretId(), o365SecretId()].sort());
        expect(s().resources[secretId()]!.Properties.Name).toBe(`connector/${env}/salesforce-client-secret`);
        expect(s().resources[o365SecretId()]!.Properties.Name).toBe(`connector/${env}/o365-client-secret`);
        for (const [id, secret] of secrets) {
          expect(secret.Properties.SecretString, id).toBeUndefined();
          expect(secret.Properties.GenerateSecretString, id).toEqual({});
        }
      });

      if (env === 'dev') {
        it('lets the dev table, key and secrets go with the stack', () => {
          const [, table] = only(s().resources, 'AWS::DynamoDB::GlobalTable');
          expect(table.DeletionPolicy).toBe('Delete');
          expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
          expect(s().resources[keyId()]!.DeletionPolicy).toBe('Delete');
          for (const id of [secretId(), o365SecretId()]) expect(s().resources[id]!.DeletionPolicy, id).toBe('Delete');
        });
      } else {
        it('protects the table from deletion and retains table, key, secrets and logs, except when their first create rolls back', () => {
          // RETAIN_ON_UPDATE_OR_DELETE: a named resource a failed first deploy created is removed, so the deploy can be retried.
          const retained = (resource: Resource, id: string) => {
            expect(resource.DeletionPolicy, id).toBe('RetainExceptOnCreate');
            expect(resource.UpdateReplacePolicy, id).toBe('Retain');
          };
          const [tableId, table] = only(s().resources, 'AWS::DynamoDB::GlobalTable');
          retained(table, tableId);
          expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
          retained(s().resources[keyId()]!, keyId());
          for (const id of [secretId(), o365SecretId()]) retained(s().resources[id]!, id);
          for (const [id, logGroup] of ofType(s().resources, 'AWS::Logs::LogGroup')) retained(logGroup, id);
        });
      }
    });

    it('has no circular dependency between its resources', () => {
      assertNoDependencyCycle(s().resources);
      const graph = dependencies(s().resources);
      // The case that matters: functions name the API's endpoint while the API's integrations name the functions.
      const [apiId] = only(s().resources, 'AWS::ApiGatewayV2::Api');
      expect([...(graph.get(apiId) ?? [])]).toEqual([]);
    });

    it('exports the API URL, the Salesforce and Office 365 callback URLs and secret names, the state machine, the table name, the key ARN, the event bus and the alarm topic', () => {
      const outputs = s().template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(Object.keys(outputs).sort()).toEqual(
        [
          'ApiUrl',
          'EncryptionKeyArn',
          'SalesforceCallbackUrl',
          'SalesforceClientSecretName',
          'O365CallbackUrl',
          'O365ClientSecretName',
          'SyncStateMachineArn',
          'TableName',
          'EventBusName',
          'EventBusArn',
          'AlarmTopicArn',
        ].sort(),
      );
      const [apiId] = only(s().resources, 'AWS::ApiGatewayV2::Api');
      expect(outputs.SalesforceCallbackUrl!.Value).toEqual({ 'Fn::Join': ['', [getAtt(apiId, 'ApiEndpoint'), '/oauth/salesforce/callback']] });
      expect(outputs.SalesforceClientSecretName!.Value).toBe(`connector/${env}/salesforce-client-secret`);
      expect(outputs.O365CallbackUrl!.Value).toEqual({ 'Fn::Join': ['', [getAtt(apiId, 'ApiEndpoint'), '/oauth/o365/callback']] });
      expect(outputs.O365ClientSecretName!.Value).toBe(`connector/${env}/o365-client-secret`);
      // routes.json serves the callbacks the outputs name.
      for (const provider of ['salesforce', 'o365']) {
        expect(routes.some((route) => route.method === 'GET' && route.path === `/oauth/${provider}/callback`), provider).toBe(true);
      }
    });

    describe('cdk-nag AwsSolutions', () => {
      it('has no unacknowledged finding, error or warning', () => {
        expect(nagFindings(s().stack)).toEqual([]);
      });

      const acknowledgements = () => nagAcknowledgements(s().stack);

      it('acknowledges each finding on the one resource it concerns, with a reason', () => {
        expect(acknowledgements().length).toBeGreaterThan(0);
        for (const { construct, id, reason } of acknowledgements()) {
          const resources = cfnResourcesOf(construct);
          expect(resources.map((r) => r.node.path), `${id} at ${construct.node.path}`).toHaveLength(1);
          expect(reason.length, `${id} at ${construct.node.path}`).toBeGreaterThan(40);
        }
      });

      it('acknowledges only findings cdk-nag reports, by their exact id (a pattern or a stale id acknowledges nothing)', () => {
        // The pack with every acknowledgement ignored: all the findings there are, by resource.
        const reported = nagFindingsUnacknowledged(s().stack);
        for (const { construct, id } of acknowledgements()) {
          const [resource] = cfnResourcesOf(construct);
          expect(reported, `${id} at ${construct.node.path}`).toContain(`${id.replace(/^annotation::/i, '')} at ${resource!.node.path}`);
        }
      });
    });
  });

  // One more synth, shared: prod with a custom API base URL and a tenant-specific Office 365 app,
  // and prod without Office 365.
  describe('with a custom API base URL and a single-tenant Office 365 app', () => {
    let custom: Synthesized;
    beforeAll(() => {
      custom = synthesize('prod', {
        apiBaseUrl: 'https://connector.example.com/',
        o365: { clientId: 'single-tenant-app', tenant: 'contoso.onmicrosoft.com' },
      });
    });

    it('sends OAuth callbacks to that URL instead of the execute-api one', () => {
      expect(custom.config.apiBaseUrl).toBe('https://connector.example.com');
      custom.template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            OAUTH_REDIRECT_BASE_URL: 'https://connector.example.com',
            O365_CLIENT_ID: 'single-tenant-app',
            O365_TENANT: 'contoso.onmicrosoft.com',
          },
        },
      });
      const outputs = custom.template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(outputs.SalesforceCallbackUrl!.Value).toBe('https://connector.example.com/oauth/salesforce/callback');
      expect(outputs.O365CallbackUrl!.Value).toBe('https://connector.example.com/oauth/o365/callback');
    });
  });

  it('passes an environment\'s Salesforce API budget and Bulk threshold to every function, and only when set', () => {
    const tuned = synthesize('prod', { salesforce: { clientId: 'prod-key', apiBudget: 0.6, bulkThreshold: 100_000 } });
    for (const [label, fn] of functionsByLabel(tuned)) {
      expect(fn.Properties.Environment.Variables, label).toMatchObject({ SALESFORCE_API_BUDGET: '0.6', SALESFORCE_BULK_THRESHOLD: '100000' });
    }
    for (const [label, fn] of functionsByLabel(synths.prod!)) {
      expect(Object.keys(fn.Properties.Environment.Variables as object).filter((name) => /BUDGET|BULK/.test(name)), label).toEqual([]);
    }
  });

  describe('without Office 365', () => {
    let plain: Synthesized;
    beforeAll(() => {
      plain = synthesize('prod', { o365: undefined });
    });

    it('creates no Office 365 secret, variable or output, and grants only the Salesforce secret', () => {
      expect(plain.config.o365).toBeUndefined();
      expect(plain.stack.o365ClientSecret).toBeUndefined();
      const [secretId] = only(plain.resources, 'AWS::SecretsManager::Secret');
      const outputs = plain.template.toJSON().Outputs as Record<string, unknown>;
      expect(Object.keys(outputs).filter((name) => name.startsWith('O365'))).toEqual([]);
      for (const [label, fn] of functionsByLabel(plain)) {
        const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
        expect(Object.keys(variables).filter((name) => name.startsWith('O365_')), label).toEqual([]);
        const secrets = resourcesOf(statementsOfFunction(plain.resources, fn), 'secretsmanager:GetSecretValue');
        expect(secrets, label).toEqual(grantsOf(label).has('secret:oauthClients') ? [{ Ref: secretId }] : []);
      }
    });

    it('has no unacknowledged cdk-nag finding', () => {
      expect(nagFindings(plain.stack)).toEqual([]);
    });
  });
});
