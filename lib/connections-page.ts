import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import {
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Role, ServicePrincipal, type Policy } from 'aws-cdk-lib/aws-iam';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { REPO_ROOT } from './lambda-defaults';

/** Where the page's build (`npm run build:web`, Vite) puts the files the page is made of. */
export const CONNECTIONS_PAGE_DIR = join(REPO_ROOT, 'web', 'dist');

/** The script the deployment writes at the site's root; index.html loads it before the app. */
export const CONNECTIONS_PAGE_CONFIG_FILE = 'config.js';

/** What config.js sets: `window.CONNECTOR_CONSOLE`. */
export interface ConnectionsPageRuntimeConfig {
  /** The API's https base URL, without a trailing slash: tRPC calls go to `<apiUrl>/trpc`. */
  readonly apiUrl: string;
  /** The platform's sign-in, where a user without a bearer token is sent; absent, the page shows no link. */
  readonly signInUrl?: string;
  /** The token claims the page reads to show who is signed in and whether they may change things. */
  readonly claims?: ConnectionsPageClaims;
}

/** The names of the JWT claims the API reads, and the admin role's value (cdk.json's tenantClaim, roleClaim, adminRole). */
export interface ConnectionsPageClaims {
  readonly tenant: string;
  readonly role: string;
  readonly adminRole: string;
}

/**
 * The page's Content-Security-Policy. Scripts, styles and images come from the page's own
 * origin only (config.js is a file, not an inline script); `connect-src` allows any https
 * origin because the API's execute-api URL cannot be named here without a dependency cycle
 * (the API's CORS names the distribution); the API's CORS and authorizer are the gate.
 */
export const CONNECTIONS_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' https:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Properties of a {@link ConnectionsPage}. */
export interface ConnectionsPageProps {
  /**
   * The API's https base URL without a trailing slash, written into config.js at deploy time;
   * a token (the HTTP API's endpoint) is fine.
   */
  readonly apiUrl: string;
  /**
   * The platform's sign-in URL, written into config.js.
   * @default - none: config.js carries no signInUrl
   */
  readonly signInUrl?: string;
  /**
   * The claim names the API's authorizer reads, so the page shows a member's view read-only.
   * @default - none: the page assumes tenant_id, role and admin
   */
  readonly claims?: ConnectionsPageClaims;
  /**
   * The folder of the built page; it must hold index.html. A `config.js` in it is not
   * deployed: the generated one is.
   * @default CONNECTIONS_PAGE_DIR (web/dist)
   */
  readonly sourceDir?: string;
  /**
   * Whether the bucket (and the deployed files) outlive the stack; when not, deleting the
   * stack deletes the files, then the empty bucket.
   * @default true
   */
  readonly retain?: boolean;
  /**
   * Retention of the deployment function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The connections page on AWS: the built files in a private, SSL-only S3 bucket, served by a
 * CloudFront distribution that alone may read it (origin access control, the bucket policy
 * conditioned on the distribution's ARN), HTTPS only, with security headers. A BucketDeployment
 * uploads the build and a generated config.js that tells the page where the API is, and
 * invalidates the distribution's cache on every deploy.
 */
export class ConnectionsPage extends Construct {
  /** The private bucket that holds the page's files. */
  public readonly bucket: Bucket;
  /** The distribution that serves them. */
  public readonly distribution: Distribution;
  /** The upload of the build and config.js. */
  public readonly deployment: BucketDeployment;
  /** The page's URL, `https://<distribution domain>`, which is also its origin (for CORS). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ConnectionsPageProps) {
    super(scope, id);
    const sourceDir = props.sourceDir ?? CONNECTIONS_PAGE_DIR;
    assertBuilt(sourceDir);
    const retain = props.retain ?? true;

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: retain ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket.node.defaultChild!).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the public build of a static page, readable by nothing but this distribution; every request that touches data goes to the API, whose stage writes a JSON access log line per request.',
    });

    const headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Security headers of the connections page',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONNECTIONS_PAGE_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365 * 2), includeSubdomains: true, override: true },
      },
    });

    // No error responses: the page is one document at the root (its state lives in the query
    // string, never in the path), so a missing file is an error to show as such, not index.html.
    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Connections page of ${Stack.of(this).stackName}`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
    const distributionFindings: Record<string, string> = {
      CFR1: "The page serves the same static files to tenants wherever they are; who may do what is decided by the API's JWT authorizer, so a country list would only lock out travelling users.",
      CFR2: 'The distribution serves only static, public build files from S3 (GET and HEAD, cached); there is no application behind it to protect. A CLOUDFRONT-scope web ACL would have to live in us-east-1, which this region-agnostic stack cannot create.',
      CFR3: 'Requests for the static files carry no tenant data and no token; the calls that matter go to the API, whose stage logs every request as JSON. A standard-logging bucket would need ACLs enabled, which the stack avoids.',
      CFR4: 'The page uses the default *.cloudfront.net certificate, whose security policy CloudFront fixes at TLSv1 and does not let us raise; browsers negotiate TLS 1.2 or 1.3 with it. A custom domain with its own certificate would set TLSv1.2_2021.',
    };
    for (const [rule, reason] of Object.entries(distributionFindings)) {
      Validations.of(this.distribution.node.defaultChild!).acknowledge({ id: `AwsSolutions-${rule}`, reason });
    }

    // The deployment function's own role and log group, as every function of the stack has:
    // no AWSLambdaBasicExecutionRole, which would let it write to every log group of the account.
    const logGroup = new LogGroup(this, 'DeploymentLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: retain ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the BucketDeployment of ${this.node.path}`,
    });
    logGroup.grantWrite(role);

    const runtimeConfig: ConnectionsPageRuntimeConfig = {
      apiUrl: props.apiUrl,
      ...(props.signInUrl === undefined ? {} : { signInUrl: props.signInUrl }),
      ...(props.claims === undefined ? {} : { claims: props.claims }),
    };
    this.deployment = new BucketDeployment(this, 'Deployment', {
      destinationBucket: this.bucket,
      sources: [
        Source.asset(sourceDir, { exclude: [CONNECTIONS_PAGE_CONFIG_FILE] }),
        // The API URL is a token resolved at deploy time; jsonEscape keeps it a valid JSON string.
        Source.data(CONNECTIONS_PAGE_CONFIG_FILE, configScript(runtimeConfig), { jsonEscape: true }),
      ],
      // Browsers revalidate every file (an ETag answer is cheap), so a deploy is seen at once.
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      retainOnDelete: retain,
      outputObjectKeys: false,
      role,
      logGroup,
    });

    // The role's policy exists now: the log grant, the bucket grants and the invalidation.
    const policy = role.node.findChild('DefaultPolicy') as Policy;
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const acknowledge = (finding: string, reason: string) => Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const grantReadWrite =
      "comes with the destination bucket's grantReadWrite, which BucketDeployment makes: it lists, uploads, replaces and prunes the page's files, and the statement names only the page's bucket.";
    const assetRead =
      "comes with the asset's grantRead, which BucketDeployment makes: it reads the zipped build CDK staged in the bootstrap assets bucket, and the statement names only that bucket.";
    acknowledge(`Resource::<${bucketId}.Arn>/*`, `Every object of the page's bucket: the deployment writes and prunes whatever files the build has; ${grantReadWrite}`);
    for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*']) acknowledge(`Action::${action}`, `${action} ${grantReadWrite} The same wildcard ${assetRead}`);
    for (const action of ['s3:DeleteObject*', 's3:Abort*']) acknowledge(`Action::${action}`, `${action} ${grantReadWrite}`);
    acknowledge(
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
      `The objects of CDK's bootstrap assets bucket: the build's object key is a hash known at synth, but the grant ${assetRead}`,
    );
    acknowledge(
      'Resource::*',
      'cloudfront:CreateInvalidation and cloudfront:GetInvalidation, which BucketDeployment adds to invalidate this distribution after a deploy; it grants them on every distribution (it names its distribution only in the request), and the role is assumed by the deployment function alone.',
    );

    // BucketDeployment's handler is a singleton at the stack's root; ours is the one with our role.
    const handler = Stack.of(this)
      .node.children.filter((child): child is LambdaFunction => child instanceof LambdaFunction)
      .find((fn) => fn.role === role);
    if (!handler) throw new Error(`${this.node.path}: BucketDeployment's handler function was not found at the stack's root.`);
    Validations.of(handler.node.defaultChild!).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        "aws-cdk-lib's BucketDeployment picks its handler's runtime (Python, with the AWS CLI layer) and moves it with CDK upgrades; the function runs only while CloudFormation deploys the page.",
    });
  }
}

/** The content of config.js: one assignment, loaded by index.html before the app. */
export function configScript(config: ConnectionsPageRuntimeConfig): string {
  return `window.CONNECTOR_CONSOLE = ${JSON.stringify(config)};\n`;
}

/** Refuses to synthesize a page that was never built, naming the command that builds it. */
function assertBuilt(sourceDir: string): void {
  const where = relative(REPO_ROOT, sourceDir) || sourceDir;
  if (!existsSync(sourceDir) || !statSync(sourceDir).isDirectory()) {
    throw new Error(
      `The connections page is enabled (connectionsPage in cdk.json), but its build folder ${where} does not exist: run \`npm run build:web\` before \`cdk synth\` or \`cdk deploy\`, or remove connectionsPage from the environment.`,
    );
  }
  if (!existsSync(join(sourceDir, 'index.html'))) {
    throw new Error(`The connections page's build folder ${where} has no index.html: run \`npm run build:web\` again.`);
  }
}
