import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlersOf, loadApiRoutes, type ApiRoute } from './api-routes';
import { ConnectorFunction } from './connector-function';
import { applyGrants, type GrantTargets } from './grants';
import { API_HANDLERS_DIR, API_ROUTES_FILE } from './lambda-defaults';

/** Properties of a {@link ConnectorApi}. */
export interface ConnectorApiProps {
  /**
   * Name of the HTTP API, unique per account and region in practice.
   * @default - `<stack name>-api`
   */
  readonly apiName?: string;
  /** The resources routes reach, each only through the grants routes.json gives the route. */
  readonly grantTargets: GrantTargets;
  /** Issuer the JWT authorizer accepts. */
  readonly jwtIssuer: string;
  /** Audiences the JWT authorizer accepts. */
  readonly jwtAudience: readonly string[];
  /**
   * Browser origins answered by the CORS preflight.
   * @default - no CORS
   */
  readonly allowedOrigins?: readonly string[];
  /** Environment variables of every API function. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The claim whose value the access log records as `tenantId`.
   * @default 'tenant_id'
   */
  readonly tenantClaim?: string;
  /**
   * Retention of the access log and of the functions' logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Whether log groups outlive the stack.
   * @default true
   */
  readonly retainLogs?: boolean;
  /**
   * Default throttling of every route of the stage.
   * @default - 100 requests per second, bursts of 200
   */
  readonly throttle?: ThrottleSettings;
  /**
   * The routes file (method, path, handler, auth, grants per route).
   * @default functions/api/routes.json
   */
  readonly routesFile?: string;
  /**
   * The folder of the handlers' entry files (`<handler>.ts`).
   * @default functions/api
   */
  readonly handlersDir?: string;
}

/**
 * The HTTP API, built from routes.json: one function per handler with exactly the grants its
 * routes ask for, the JWT authorizer on `jwt` routes, CORS, throttling and JSON access logs
 * on the `$default` stage.
 */
export class ConnectorApi extends Construct {
  /** The HTTP API. */
  public readonly httpApi: HttpApi;
  /** The `$default` stage, which serves the API at the root of its URL. */
  public readonly stage: HttpStage;
  /** Where the stage writes one JSON line per request. */
  public readonly accessLogGroup: LogGroup;
  /** The routes the API serves, as read from the routes file. */
  public readonly routes: readonly ApiRoute[];
  /** One function per handler, by handler name. */
  public readonly functions: ReadonlyMap<string, ConnectorFunction>;

  constructor(scope: Construct, id: string, props: ConnectorApiProps) {
    super(scope, id);
    const retainLogs = props.retainLogs ?? true;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.routes = loadApiRoutes(props.routesFile ?? API_ROUTES_FILE);

    const allowedOrigins = props.allowedOrigins ?? [];
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: props.apiName ?? `${Stack.of(this).stackName}-api`,
      description: 'Connector API (tRPC over HTTP)',
      // The stage is created below, with access logs and throttling the default stage lacks.
      createDefaultStage: false,
      corsPreflight:
        allowedOrigins.length === 0
          ? undefined
          : {
              allowOrigins: [...allowedOrigins],
              allowMethods: [...new Set(this.routes.map((route) => CorsHttpMethod[route.method]))],
              allowHeaders: ['authorization', 'content-type', 'trpc-accept'],
              // Bearer tokens travel in a header, never in cookies.
              allowCredentials: false,
              maxAge: Duration.hours(1),
            },
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: retainLogs ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: accessLogFormat(props.tenantClaim ?? 'tenant_id'),
      },
    });

    const jwtAuthorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      jwtAudience: [...props.jwtAudience],
    });
    const noAuthorizer = new HttpNoneAuthorizer();
    const handlersDir = props.handlersDir ?? API_HANDLERS_DIR;

    const functions = new Map<string, ConnectorFunction>();
    for (const handler of handlersOf(this.routes)) {
      const fn = new ConnectorFunction(this, handler.name, {
        entry: join(handlersDir, `${handler.name}.ts`),
        environment: props.environment,
        logRetention,
        retainLogs,
        description: `${handler.name}: ${handler.routes.map((r) => `${r.method} ${r.path}`).join(', ')}`,
      });
      applyGrants(fn, handler.grants, props.grantTargets);
      functions.set(handler.name, fn);

      const integration = new HttpLambdaIntegration(`${handler.name}Integration`, fn.function);
      for (const route of handler.routes) {
        const [httpRoute] = this.httpApi.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration,
          authorizer: route.auth === 'jwt' ? jwtAuthorizer : noAuthorizer,
        });
        if (route.auth === 'none' && httpRoute) {
          // On the AWS::ApiGatewayV2::Route itself, not on the L2 route, which also holds the
          // integration's invoke permissions.
          Validations.of(httpRoute.node.defaultChild!).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason:
              'routes.json marks this route auth "none": an OAuth provider redirect carries no bearer token; the single-use, tenant-bound state parameter authorizes it.',
          });
        }
      }
    }
    this.functions = functions;
  }
}

/**
 * One JSON object per request: enough to follow a request from the gateway to its Lambda
 * (request id, route, status, latencies) and to see why it failed (authorizer, integration).
 */
function accessLogFormat(tenantClaim: string): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTime',
      ip: '$context.identity.sourceIp',
      userAgent: '$context.identity.userAgent',
      httpMethod: '$context.httpMethod',
      routeKey: '$context.routeKey',
      path: '$context.path',
      protocol: '$context.protocol',
      status: '$context.status',
      responseLength: '$context.responseLength',
      latency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      integrationStatus: '$context.integrationStatus',
      integrationError: '$context.integrationErrorMessage',
      authorizerError: '$context.authorizer.error',
      errorMessage: '$context.error.message',
      tenantId: `$context.authorizer.claims.${tenantClaim}`,
    }),
  );
}
