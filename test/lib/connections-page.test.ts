/**
 * The connections page on AWS (lib/connections-page.ts), synthesized as part of the stack with
 * `connectionsPage` set, from a small fixture folder instead of a Vite build: the private
 * bucket, the distribution that alone reads it, config.js, the API's CORS, cdk-nag and cfn-lint.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_PAGE_CSP } from '../../lib/connections-page';
import { REPO_ROOT } from '../../lib/lambda-defaults';
import {
  CFN_LINT,
  cfnLint,
  cfnResourcesOf,
  assertNoDependencyCycle,
  dependencies,
  getAtt,
  logicalIdIn,
  nagAcknowledgements,
  nagFindings,
  nagFindingsUnacknowledged,
  ofType,
  only,
  synthesizeStack,
  type Synthesized,
} from './stack-synth';

/** A built page as small as can be: index.html, one script, and a config.js the deployment must not ship. */
const FIXTURE = join(REPO_ROOT, 'test', 'lib', 'fixtures', 'web-dist');
const SIGN_IN_URL = 'https://auth.example.com/sign-in?return=connections&lang=en';

const outRoot = mkdtempSync(join(tmpdir(), 'connector-page-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

/** Synthesizes `env` with `overrides`, the page's build taken from the fixture folder. */
function synthesize(name: string, env: string, overrides: Record<string, unknown>): Synthesized {
  return synthesizeStack(join(outRoot, name), env, overrides, { connectionsPageDir: FIXTURE });
}

const outputsOf = (synth: Synthesized) => synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
const pageOrigin = (distributionId: string) => ({ 'Fn::Join': ['', ['https://', getAtt(distributionId, 'DomainName')]] });

/** The deployment's custom resource, and each of its sources as the folder CDK staged it in. */
function deploymentOf(synth: Synthesized) {
  const [, deployment] = only(synth.resources, 'Custom::CDKBucketDeployment');
  const keys = deployment.Properties.SourceObjectKeys as string[];
  const folders = keys.map((key) => join(synth.app.outdir, `asset.${key.replace(/\.zip$/, '')}`));
  // CDK leaves SourceMarkers out when no source has one.
  return { deployment, folders, markers: (deployment.Properties.SourceMarkers ?? []) as Record<string, unknown>[] };
}

/** The source that carries config.js, its text, and the markers the deployment substitutes in it. */
function configSource(synth: Synthesized) {
  const { folders, markers, deployment } = deploymentOf(synth);
  const index = folders.findIndex((folder) => readdirSync(folder).join() === 'config.js');
  expect(index, 'a source holding only config.js').toBeGreaterThanOrEqual(0);
  return {
    text: readFileSync(join(folders[index]!, 'config.js'), 'utf8'),
    markers: markers[index] ?? {},
    jsonEscape: ((deployment.Properties.SourceMarkersConfig ?? []) as { jsonEscape?: boolean }[])[index]?.jsonEscape,
  };
}

/** What a browser's `window.CONNECTOR_CONSOLE` is after config.js runs, each marker replaced by `values`. */
function runConfig(text: string, values: Record<string, string>): unknown {
  const script = Object.entries(values).reduce((code, [marker, value]) => code.replaceAll(marker, JSON.stringify(value).slice(1, -1)), text);
  const window: Record<string, unknown> = {};
  runInNewContext(script, { window });
  return JSON.parse(JSON.stringify(window.CONNECTOR_CONSOLE));
}

describe('ConnectionsPage', () => {
  describe('without connectionsPage in the environment', () => {
    let plain: Synthesized;
    beforeAll(() => {
      // cdk.json's environments have no page; no fixture folder either, so nothing can be deployed.
      plain = synthesizeStack(join(outRoot, 'plain'), 'prod');
    });

    it('creates no bucket, distribution, deployment or output, and CORS allows only the origins of cdk.json', () => {
      expect(plain.config.connectionsPage).toBeUndefined();
      expect(plain.stack.connectionsPage).toBeUndefined();
      for (const type of ['AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::CloudFront::Distribution', 'AWS::CloudFront::OriginAccessControl', 'Custom::CDKBucketDeployment']) {
        plain.template.resourceCountIs(type, 0);
      }
      expect(outputsOf(plain)).not.toHaveProperty('ConnectionsPageUrl');
      const [, api] = only(plain.resources, 'AWS::ApiGatewayV2::Api');
      expect(api.Properties.CorsConfiguration.AllowOrigins).toEqual([...plain.config.allowedOrigins]);
    });
  });

  describe.each(['prod', 'dev'] as const)('in %s with connectionsPage', (env) => {
    let s: Synthesized;
    beforeAll(() => {
      s = synthesize(env, env, { connectionsPage: { signInUrl: SIGN_IN_URL } });
    });
    const bucket = () => only(s.resources, 'AWS::S3::Bucket');
    const distribution = () => only(s.resources, 'AWS::CloudFront::Distribution');

    it('keeps the files in a private bucket: public access blocked, objects owned by the bucket, encrypted, SSL (TLS 1.2 and later) only', () => {
      const [bucketId, { Properties }] = bucket();
      expect(Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(Properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
      expect(Properties).not.toHaveProperty('WebsiteConfiguration');
      const [, policy] = only(s.resources, 'AWS::S3::BucketPolicy');
      expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
      const denies = (policy.Properties.PolicyDocument.Statement as { Effect: string; Condition: unknown }[]).filter((st) => st.Effect === 'Deny');
      expect(denies.map((st) => st.Condition)).toEqual([{ Bool: { 'aws:SecureTransport': 'false' } }, { NumericLessThan: { 's3:TlsVersion': 1.2 } }]);
    });

    if (env === 'prod') {
      it('retains the bucket and the deployed files with the stack, except when their first create rolls back', () => {
        const [, page] = bucket();
        expect(page.DeletionPolicy).toBe('RetainExceptOnCreate');
        expect(page.UpdateReplacePolicy).toBe('Retain');
        expect(deploymentOf(s).deployment.Properties.RetainOnDelete).toBe(true);
      });
    } else {
      it('lets the dev bucket go with the stack, its files deleted first by the deployment', () => {
        const [bucketId, page] = bucket();
        expect(page.DeletionPolicy).toBe('Delete');
        const { deployment } = deploymentOf(s);
        expect(deployment.Properties.RetainOnDelete).toBe(false);
        expect(deployment.Properties.DestinationBucketName).toEqual({ Ref: bucketId });
      });
    }

    it('serves the bucket through CloudFront with origin access control, and the bucket lets only that distribution read it', () => {
      const [bucketId] = bucket();
      const [distributionId, { Properties }] = distribution();
      const [oacId, oac] = only(s.resources, 'AWS::CloudFront::OriginAccessControl');
      expect(oac.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
      expect(Properties.DistributionConfig.Origins).toEqual([
        expect.objectContaining({
          DomainName: getAtt(bucketId, 'RegionalDomainName'),
          OriginAccessControlId: getAtt(oacId, 'Id'),
          // No origin access identity (the legacy OAI).
          S3OriginConfig: { OriginAccessIdentity: '' },
        }),
      ]);
      s.template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);

      const [, policy] = only(s.resources, 'AWS::S3::BucketPolicy');
      const allows = (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).filter((st) => st.Effect === 'Allow');
      expect(allows).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Resource: { 'Fn::Join': ['', [getAtt(bucketId), '/*']] },
          Condition: {
            StringEquals: {
              'AWS:SourceArn': {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }]],
              },
            },
          },
        },
      ]);
    });

    it('redirects HTTP to HTTPS, answers / with index.html, sends security headers, and shows a missing file as missing', () => {
      const [, { Properties }] = distribution();
      const config = Properties.DistributionConfig;
      expect(config.DefaultRootObject).toBe('index.html');
      expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
      // The page is one document at the root: no 403/404 fallback to index.html that would hide a missing asset.
      expect(config.CustomErrorResponses).toBeUndefined();
      const [headersId, headers] = only(s.resources, 'AWS::CloudFront::ResponseHeadersPolicy');
      expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: headersId });
      expect(headers.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig).toEqual({
        ContentSecurityPolicy: { ContentSecurityPolicy: CONNECTIONS_PAGE_CSP, Override: true },
        ContentTypeOptions: { Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
        ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
        StrictTransportSecurity: { AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true },
      });
      // config.js is a file of the page's own origin, so the policy needs no inline script.
      expect(CONNECTIONS_PAGE_CSP).toContain("script-src 'self';");
      expect(CONNECTIONS_PAGE_CSP).not.toContain('unsafe-eval');
    });

    it('deploys the build without its own config.js, revalidated by browsers, and invalidates the distribution', () => {
      const [distributionId] = distribution();
      const { deployment, folders } = deploymentOf(s);
      const build = folders.find((folder) => existsSync(join(folder, 'index.html')))!;
      expect(readdirSync(build, { recursive: true }).map(String).sort()).toEqual(['assets', join('assets', 'index.js'), 'index.html']);
      expect(readFileSync(join(build, 'index.html'), 'utf8')).toBe(readFileSync(join(FIXTURE, 'index.html'), 'utf8'));
      expect(deployment.Properties).toMatchObject({
        Prune: true,
        SystemMetadata: { 'cache-control': 'no-cache' },
        DistributionId: { Ref: distributionId },
        DistributionPaths: ['/*'],
      });
    });

    it('writes a config.js that sets window.CONNECTOR_CONSOLE to the API URL (filled in at deploy time), the sign-in URL and the claim names', () => {
      const [apiId] = only(s.resources, 'AWS::ApiGatewayV2::Api');
      const { text, markers, jsonEscape } = configSource(s);
      expect(text.startsWith('window.CONNECTOR_CONSOLE = ')).toBe(true);
      expect(Object.values(markers)).toEqual([getAtt(apiId, 'ApiEndpoint')]);
      expect(jsonEscape).toBe(true);
      const marker = Object.keys(markers)[0]!;
      expect(runConfig(text, { [marker]: 'https://abc123.execute-api.eu-west-1.amazonaws.com' })).toEqual({
        apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        signInUrl: SIGN_IN_URL,
        claims: { tenant: s.config.tenantClaim, role: s.config.roleClaim, adminRole: s.config.adminRole },
      });
    });

    it("lets the page's origin call the API: CORS allows https://<distribution domain> besides the origins of cdk.json", () => {
      const [distributionId] = distribution();
      const [, api] = only(s.resources, 'AWS::ApiGatewayV2::Api');
      expect(api.Properties.CorsConfiguration.AllowOrigins).toEqual([...s.config.allowedOrigins, pageOrigin(distributionId)]);
      expect(api.Properties.CorsConfiguration.AllowCredentials).toBe(false);
    });

    it('keeps the app URL of cdk.json as where the OAuth callback sends the user', () => {
      const functions = ofType(s.resources, 'AWS::Lambda::Function').filter(([, fn]) => fn.Properties.Environment?.Variables?.TABLE_NAME);
      for (const [id, fn] of functions) expect(fn.Properties.Environment.Variables.APP_URL, id).toBe(s.config.appUrl);
    });

    it('exports the page URL', () => {
      const [distributionId] = distribution();
      expect(outputsOf(s).ConnectionsPageUrl?.Value).toEqual(pageOrigin(distributionId));
    });

    it('has no circular dependency, and the distribution does not wait for the API (whose CORS names it)', () => {
      assertNoDependencyCycle(s.resources);
      const graph = dependencies(s.resources);
      const reachable = (from: string, seen = new Set<string>()): Set<string> => {
        for (const next of graph.get(from) ?? []) if (!seen.has(next)) reachable(next, seen.add(next));
        return seen;
      };
      const [apiId] = only(s.resources, 'AWS::ApiGatewayV2::Api');
      const [distributionId] = distribution();
      expect(reachable(distributionId).has(apiId)).toBe(false);
      expect(reachable(apiId).has(distributionId)).toBe(true);
    });

    describe(CFN_LINT ? 'CloudFormation (cfn-lint)' : 'CloudFormation (cfn-lint is not installed here: the deployability check is skipped)', () => {
      it.skipIf(!CFN_LINT)('passes cfn-lint with the page', () => {
        const lint = cfnLint(s.template, join(outRoot, `${env}.template.json`));
        expect(lint.output).toBe('');
        expect(lint.status).toBe(0);
      });
    });

    describe('cdk-nag AwsSolutions', () => {
      const page = () => s.stack.connectionsPage!;
      /** The page's constructs, and the deployment's handler, which BucketDeployment puts at the stack's root. */
      const pageAcknowledgements = () =>
        nagAcknowledgements(s.stack).filter(({ construct }) => construct.node.path.startsWith(page().node.path) || construct.node.path.includes('CDKBucketDeployment'));

      it('has no unacknowledged finding, error or warning', () => {
        expect(nagFindings(s.stack)).toEqual([]);
      });

      it('acknowledges each finding of the page on the one resource it concerns, with a reason, and only findings cdk-nag reports', () => {
        const reported = nagFindingsUnacknowledged(s.stack);
        const acknowledged = pageAcknowledgements();
        expect(acknowledged.map(({ id }) => id).sort()).toEqual(
          [
            'AwsSolutions-S1',
            'AwsSolutions-CFR1',
            'AwsSolutions-CFR2',
            'AwsSolutions-CFR3',
            'AwsSolutions-CFR4',
            'AwsSolutions-L1',
            'AwsSolutions-IAM5[Action::s3:Abort*]',
            'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
            'AwsSolutions-IAM5[Action::s3:GetBucket*]',
            'AwsSolutions-IAM5[Action::s3:GetObject*]',
            'AwsSolutions-IAM5[Action::s3:List*]',
            `AwsSolutions-IAM5[Resource::<${logicalIdIn(s.stack, page().bucket)}.Arn>/*]`,
            'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
            'AwsSolutions-IAM5[Resource::*]',
          ].sort(),
        );
        for (const { construct, id, reason } of acknowledged) {
          const resources = cfnResourcesOf(construct);
          expect(resources, `${id} at ${construct.node.path}`).toHaveLength(1);
          expect(reason.length, `${id} at ${construct.node.path}`).toBeGreaterThan(40);
          expect(reported, `${id} at ${construct.node.path}`).toContain(`${id} at ${resources[0]!.node.path}`);
        }
      });

      it('runs the deployment function under a role of its own with no managed policy, logging to its own log group', () => {
        const roleId = logicalIdIn(s.stack, page().deployment.handlerRole);
        expect(s.resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
        const [, handler] = only(
          Object.fromEntries(ofType(s.resources, 'AWS::Lambda::Function').filter(([, fn]) => JSON.stringify(fn.Properties.Role) === JSON.stringify(getAtt(roleId)))),
          'AWS::Lambda::Function',
        );
        const logGroupId = handler.Properties.LoggingConfig.LogGroup.Ref as string;
        expect(s.resources[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: s.config.logRetention } });
      });
    });
  });

  describe('with an API base URL and claim names of its own, and no app URL or allowed origins in cdk.json', () => {
    let custom: Synthesized;
    beforeAll(() => {
      custom = synthesize('custom', 'prod', {
        connectionsPage: {},
        apiBaseUrl: 'https://connector.example.com/',
        appUrl: undefined,
        allowedOrigins: [],
        tenantClaim: 'https://platform.example.com/org',
        roleClaim: 'https://platform.example.com/role',
        adminRole: 'owner',
      });
    });

    it('writes that URL and those claims into config.js, with no sign-in URL', () => {
      const { text, markers } = configSource(custom);
      expect(markers).toEqual({});
      expect(runConfig(text, {})).toEqual({
        apiUrl: 'https://connector.example.com',
        claims: { tenant: 'https://platform.example.com/org', role: 'https://platform.example.com/role', adminRole: 'owner' },
      });
    });

    it("turns CORS on for the page's origin alone, and sends the OAuth callback back to the page", () => {
      const [distributionId] = only(custom.resources, 'AWS::CloudFront::Distribution');
      const [, api] = only(custom.resources, 'AWS::ApiGatewayV2::Api');
      expect(api.Properties.CorsConfiguration.AllowOrigins).toEqual([pageOrigin(distributionId)]);
      const functions = ofType(custom.resources, 'AWS::Lambda::Function').filter(([, fn]) => fn.Properties.Environment?.Variables?.TABLE_NAME);
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) expect(fn.Properties.Environment.Variables.APP_URL, id).toEqual(pageOrigin(distributionId));
    });

    it('has no unacknowledged cdk-nag finding', () => {
      expect(nagFindings(custom.stack)).toEqual([]);
    });
  });

  describe('before the page is built', () => {
    it('refuses to synthesize without the build folder, telling the operator to run npm run build:web', () => {
      expect(() =>
        synthesizeStack(join(outRoot, 'unbuilt'), 'dev', { connectionsPage: {} }, { connectionsPageDir: join(outRoot, 'no-such-dist') }),
      ).toThrow(/connections page is enabled \(connectionsPage in cdk\.json\), but its build folder .*no-such-dist does not exist: run `npm run build:web`/);
    });

    it('refuses a build folder without index.html', () => {
      const empty = join(outRoot, 'empty-dist');
      mkdirSync(empty);
      expect(() => synthesizeStack(join(outRoot, 'empty'), 'dev', { connectionsPage: {} }, { connectionsPageDir: empty })).toThrow(
        /has no index\.html: run `npm run build:web` again/,
      );
    });
  });
});
