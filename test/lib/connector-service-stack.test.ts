import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorServiceStack } from '../../lib/connector-service-stack';
import { readEnvironmentConfig, type EnvironmentConfig } from '../../lib/environment-config';
import { API_ROUTES_FILE, LAMBDA_BUNDLING, REPO_ROOT } from '../../lib/lambda-defaults';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
type RawRoute = { method: string; path: string; handler: string; auth: 'jwt' | 'none'; grants: string[] };

const cdkContext = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;
// The routes file read raw, independent of the loader under test.
const routes = (JSON.parse(readFileSync(API_ROUTES_FILE, 'utf8')) as { routes: RawRoute[] }).routes;
const handlers = [...new Set(routes.map((route) => route.handler))];
const grantsOf = (handler: string) =>
  new Set(routes.filter((route) => route.handler === handler).flatMap((route) => route.grants));

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

interface Synthesized {
  readonly app: App;
  readonly stack: ConnectorServiceStack;
  readonly config: EnvironmentConfig;
  readonly template: Template;
  readonly resources: Record<string, Resource>;
}

/** Where the test's cloud assemblies go; removed after the tests. */
const outRoot = mkdtempSync(join(tmpdir(), 'connector-stack-'));

/** Synthesizes the stack as `cdk synth -c env=<env>` does, with cdk.json's context. */
function synthesize(env: string, { bundle }: { bundle: boolean }): Synthesized {
  const app = new App({
    outdir: join(outRoot, env),
    context: { ...cdkContext, env, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const config = readEnvironmentConfig(app);
  const stack = new ConnectorServiceStack(app, `Connector-${env}`, { config });
  const template = Template.fromStack(stack);
  return { app, stack, config, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

/** The handler each Lambda function of the template serves, by logical id (from the construct tree). */
function handlerByLogicalId({ stack }: Synthesized): Map<string, string> {
  return new Map(
    [...stack.api.functions].map(([handler, fn]) => [stack.getLogicalId(fn.function.node.defaultChild as CfnElement), handler]),
  );
}

function ofType(resources: Record<string, Resource>, type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function functionsByHandler(synth: Synthesized): Map<string, Resource> {
  const handlers = handlerByLogicalId(synth);
  return new Map(ofType(synth.resources, 'AWS::Lambda::Function').map(([id, fn]) => [handlers.get(id) ?? id, fn]));
}

/** Every action the inline policies of a function's role allow, with the resources of each statement. */
function statementsOfFunction(resources: Record<string, Resource>, fn: Resource): { Action: string[]; Resource: unknown }[] {
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return ofType(resources, 'AWS::IAM::Policy')
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
    .map((statement) => ({ ...statement, Action: [statement.Action].flat() }));
}

/** Whether an IAM action pattern (which may hold `*`) allows `action`. */
function allows(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return regex.test(action);
}

const actionsOf = (statements: { Action: string[] }[]) => statements.flatMap((statement) => statement.Action);

describe('ConnectorServiceStack', () => {
  // One synth per environment: dev with real esbuild bundling, prod with bundling skipped.
  const synths: Record<'dev' | 'prod', Synthesized> = {} as never;
  beforeAll(() => {
    synths.dev = synthesize('dev', { bundle: true });
    synths.prod = synthesize('prod', { bundle: false });
  });
  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  describe('bundling', () => {
    it('bundles every handler locally with esbuild (no Docker) into an ESM file with the createRequire banner', () => {
      const { app } = synths.dev;
      const functions = functionsByHandler(synths.dev);
      expect([...functions.keys()].sort()).toEqual([...handlers].sort());
      for (const [handler, fn] of functions) {
        // The code's S3 key is `<asset hash>.zip`; the staged asset is the folder `asset.<hash>`.
        const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
        const bundle = join(app.outdir, `asset.${hash}`, 'index.mjs');
        expect(existsSync(bundle), `${handler} has no bundle at ${bundle}`).toBe(true);
        expect(statSync(bundle).size).toBeGreaterThan(0);
        expect(readFileSync(bundle, 'utf8').startsWith(LAMBDA_BUNDLING.banner)).toBe(true);
        expect(existsSync(`${bundle}.map`)).toBe(true);
      }
    });
  });

  describe.each(['dev', 'prod'] as const)('in %s', (env) => {
    const s = () => synths[env];

    describe('functions', () => {
      it('runs every function on Node.js 24 on arm64, with 256 MB, 10 s and active tracing', () => {
        const functions = ofType(s().resources, 'AWS::Lambda::Function');
        expect(functions.length).toBeGreaterThan(0);
        for (const [, fn] of functions) {
          expect(fn.Properties).toMatchObject({
            Runtime: 'nodejs24.x',
            Architectures: ['arm64'],
            MemorySize: 256,
            Timeout: 10,
            TracingConfig: { Mode: 'Active' },
            Handler: 'index.handler',
          });
        }
      });

      it('creates exactly one function per distinct handler of routes.json', () => {
        const inTemplate = ofType(s().resources, 'AWS::Lambda::Function').map(([id]) => id);
        const byLogicalId = handlerByLogicalId(s());
        expect(inTemplate.sort()).toEqual([...byLogicalId.keys()].sort());
        expect([...byLogicalId.values()].sort()).toEqual([...handlers].sort());
      });

      it('gives every function its own log group, kept for the retention days of the environment', () => {
        const logGroups = new Set(ofType(s().resources, 'AWS::Logs::LogGroup').map(([id]) => id));
        const used = ofType(s().resources, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties.LoggingConfig.LogGroup.Ref as string);
        expect(used.every((id) => logGroups.has(id))).toBe(true);
        expect(new Set(used).size).toBe(used.length);
        s().template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: s().config.logRetention });
      });

      it('gives every function the runtime configuration it needs', () => {
        const tableId = ofType(s().resources, 'AWS::DynamoDB::GlobalTable')[0]?.[0];
        const keyId = ofType(s().resources, 'AWS::KMS::Key')[0]?.[0];
        s().template.allResourcesProperties('AWS::Lambda::Function', {
          Environment: {
            Variables: {
              TABLE_NAME: { Ref: tableId },
              CONNECTOR_ENCRYPTION_KEY: { 'Fn::GetAtt': [keyId, 'Arn'] },
              TENANT_CLAIM: s().config.tenantClaim,
              ROLE_CLAIM: s().config.roleClaim,
              ADMIN_ROLE: s().config.adminRole,
              POWERTOOLS_SERVICE_NAME: 'connector',
              POWERTOOLS_LOG_LEVEL: 'INFO',
              NODE_OPTIONS: '--enable-source-maps',
            },
          },
        });
      });
    });

    describe('permissions', () => {
      it('gives read-only procedures no write permission and no key access', () => {
        const readOnly = handlers.filter((h) => [...grantsOf(h)].every((grant) => grant === 'table:read'));
        expect(readOnly.length).toBeGreaterThan(0);
        const functions = functionsByHandler(s());
        for (const handler of readOnly) {
          const actions = actionsOf(statementsOfFunction(s().resources, functions.get(handler)!));
          expect(actions).toContain('dynamodb:Query');
          for (const write of DYNAMODB_WRITES) {
            expect(actions.filter((a) => allows(a, write)), `${handler} may ${write}`).toEqual([]);
          }
          expect(actions.filter((a) => a.toLowerCase().startsWith('kms:')), `${handler} may use KMS`).toEqual([]);
        }
      });

      it('gives writing procedures write permission, and key access only as their grants say', () => {
        const functions = functionsByHandler(s());
        for (const handler of handlers) {
          const grants = grantsOf(handler);
          const actions = actionsOf(statementsOfFunction(s().resources, functions.get(handler)!));
          const may = (action: string) => actions.some((a) => allows(a, action));
          const writes = grants.has('table:readWrite');
          for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
            expect(may(write), `${handler} ${write}`).toBe(writes);
          }
          expect(may('kms:Decrypt'), `${handler} kms:Decrypt`).toBe(grants.has('key:decrypt') || grants.has('key:encryptDecrypt'));
          expect(may('kms:GenerateDataKey'), `${handler} kms:GenerateDataKey`).toBe(grants.has('key:encryptDecrypt'));
          expect(may('kms:Encrypt'), `${handler} kms:Encrypt`).toBe(grants.has('key:encryptDecrypt'));
        }
      });

      it('uses no managed policy, and only X-Ray gets a wildcard resource', () => {
        for (const [, role] of ofType(s().resources, 'AWS::IAM::Role')) {
          expect(role.Properties.ManagedPolicyArns).toBeUndefined();
        }
        for (const [, fn] of ofType(s().resources, 'AWS::Lambda::Function')) {
          const wildcard = statementsOfFunction(s().resources, fn).filter((statement) => JSON.stringify(statement.Resource).includes('*'));
          expect(wildcard.flatMap((statement) => statement.Action).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        }
      });
    });

    describe('api', () => {
      it('serves exactly the routes of routes.json, each with its authorization type and handler', () => {
        const functionIds = handlerByLogicalId(s());
        const integrationTarget = new Map(
          ofType(s().resources, 'AWS::ApiGatewayV2::Integration').map(([id, integration]) => [
            id,
            functionIds.get(integration.Properties.IntegrationUri['Fn::GetAtt'][0]),
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
          handler: route.handler,
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
        const [, stage] = ofType(s().resources, 'AWS::ApiGatewayV2::Stage')[0]!;
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
      it('keeps everything in one table keyed pk (HASH) / sk (RANGE), as local/dynamodb-local.ts creates it', () => {
        s().template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
        s().template.resourceCountIs('AWS::DynamoDB::Table', 0);
        s().template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
          Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
        });
      });

      it('rotates the credentials key yearly, under the alias alias/connector-<env>', () => {
        s().template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
        s().template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/connector-${env}` });
      });

      if (env === 'dev') {
        it('lets the dev table and key go with the stack', () => {
          const [, table] = ofType(s().resources, 'AWS::DynamoDB::GlobalTable')[0]!;
          expect(table.DeletionPolicy).toBe('Delete');
          expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
          expect(ofType(s().resources, 'AWS::KMS::Key')[0]![1].DeletionPolicy).toBe('Delete');
        });
      } else {
        it('protects the table from deletion and retains table, key and logs', () => {
          const [, table] = ofType(s().resources, 'AWS::DynamoDB::GlobalTable')[0]!;
          expect(table.DeletionPolicy).toBe('Retain');
          expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
          expect(ofType(s().resources, 'AWS::KMS::Key')[0]![1].DeletionPolicy).toBe('Retain');
          for (const [, logGroup] of ofType(s().resources, 'AWS::Logs::LogGroup')) expect(logGroup.DeletionPolicy).toBe('Retain');
        });
      }
    });

    it('exports the API URL, the table name and the key ARN', () => {
      const outputs = Object.keys(s().template.toJSON().Outputs as object);
      expect(outputs.sort()).toEqual(['ApiUrl', 'EncryptionKeyArn', 'TableName']);
    });

    describe('cdk-nag AwsSolutions', () => {
      it('has no unacknowledged finding, error or warning', () => {
        const report = new AwsSolutionsChecks().validateScope(s().stack);
        const findings = report.violations.flatMap((violation) =>
          violation.violatingResources.map((r) => `${violation.severity} ${violation.ruleName} at ${r.constructPath}`),
        );
        expect(findings).toEqual([]);
      });

      it('acknowledges findings on the resources they concern, never on the whole stack, each with a reason', () => {
        const acknowledgements = s()
          .stack.node.findAll()
          .flatMap((construct: IConstruct) =>
            construct.node.metadata
              .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
              .flatMap((entry) => Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ construct, id, reason }))),
          );
        expect(acknowledgements.length).toBeGreaterThan(0);
        for (const { construct, id, reason } of acknowledgements) {
          expect(construct.node.path, id).not.toBe(s().stack.node.path);
          expect(construct.node.path, id).not.toMatch(/^Connector-\w+\/Api$/);
          expect(reason.length, `${id} at ${construct.node.path}`).toBeGreaterThan(40);
        }
      });
    });
  });
});
