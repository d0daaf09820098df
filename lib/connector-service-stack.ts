import { CfnOutput, Lazy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConnectionsPage } from './connections-page';
import { ConnectorApi } from './connector-api';
import { ConnectorTable } from './connector-table';
import { DomainEvents } from './domain-events';
import { EncryptionKey } from './encryption-key';
import type { EnvironmentConfig } from './environment-config';
import type { GrantTargets } from './grants';
import { OAuthClientSecret } from './oauth-client-secret';
import { OperationsDashboard } from './operations-dashboard';
import { ScheduledSync } from './scheduled-sync';
import { ServiceAlarms } from './service-alarms';
import { SERVICE_NAME } from './service-metrics';
import { SyncRecovery } from './sync-recovery';
import { SyncStateMachine } from './sync-state-machine';

/** Properties of a {@link ConnectorServiceStack}. */
export interface ConnectorServiceStackProps extends StackProps {
  /** The environment's settings (cdk.json `environments.<name>`). */
  readonly config: EnvironmentConfig;
  /**
   * The routes file of the API.
   * @default functions/api/routes.json
   */
  readonly routesFile?: string;
  /**
   * The folder of the API handlers' entry files.
   * @default functions/api
   */
  readonly handlersDir?: string;
  /**
   * The built connections page, deployed when the environment has `connectionsPage`.
   * @default web/dist (CONNECTIONS_PAGE_DIR)
   */
  readonly connectionsPageDir?: string;
}

/**
 * The connector service in one environment: key, table, the OAuth client secrets (Salesforce,
 * and Office 365 when configured), the domain-event bus fed by the table's stream, the sync
 * state machine with its scheduler and recovery, the API, the connections page when the
 * environment serves it, and the alarms and dashboard that watch them.
 */
export class ConnectorServiceStack extends Stack {
  /** The credentials key. */
  public readonly encryptionKey: EncryptionKey;
  /** The single table. */
  public readonly table: ConnectorTable;
  /** Where operators put the Salesforce connected app's client secret. */
  public readonly salesforceClientSecret: OAuthClientSecret;
  /**
   * Where operators put the Office 365 (Microsoft Entra) app registration's client secret;
   * absent when the environment does not offer Office 365.
   */
  public readonly o365ClientSecret?: OAuthClientSecret;
  /** The sync state machine and its step functions. */
  public readonly sync: SyncStateMachine;
  /** The schedule that starts due incremental syncs. */
  public readonly scheduledSync: ScheduledSync;
  /** The rule and function that close syncs whose execution died. */
  public readonly syncRecovery: SyncRecovery;
  /** The HTTP API and its functions. */
  public readonly api: ConnectorApi;
  /** The connections page's bucket and distribution; absent when the environment does not serve it. */
  public readonly connectionsPage?: ConnectionsPage;
  /** The domain-event bus and the stream consumer that publishes to it. */
  public readonly domainEvents: DomainEvents;
  /** The alarms and the topic they notify. */
  public readonly alarms: ServiceAlarms;
  /** The CloudWatch dashboard. */
  public readonly dashboard: OperationsDashboard;
  /** The API's public base URL; OAuth callbacks are `<apiBaseUrl>/oauth/<provider>/callback`. */
  public readonly apiBaseUrl: string;

  constructor(scope: Construct, id: string, props: ConnectorServiceStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey', {
      aliasName: `alias/connector-${config.name}`,
      retainKey: config.retainData,
    });
    this.table = new ConnectorTable(this, 'Table', { retainData: config.retainData });
    this.salesforceClientSecret = new OAuthClientSecret(this, 'SalesforceClientSecret', {
      secretName: `connector/${config.name}/salesforce-client-secret`,
      provider: 'Salesforce',
      retain: config.retainData,
    });
    if (config.o365) {
      this.o365ClientSecret = new OAuthClientSecret(this, 'O365ClientSecret', {
        secretName: `connector/${config.name}/o365-client-secret`,
        provider: 'Office 365',
        issuer: 'Microsoft Entra ID',
        clientApp: 'app registration',
        retain: config.retainData,
      });
    }
    const grantTargets: GrantTargets = {
      table: this.table.table,
      key: this.encryptionKey.key,
      oauthClientSecrets: {
        salesforce: this.salesforceClientSecret.secret,
        ...(this.o365ClientSecret ? { o365: this.o365ClientSecret.secret } : {}),
      },
    };

    // The API's URL exists only once the API does, and the API's functions need the state
    // machine, whose steps run the same runtime: the base URL is filled in at synth. In
    // CloudFormation a function that names the API's endpoint depends on the
    // AWS::ApiGatewayV2::Api alone, which depends on no function, so there is no cycle.
    let api: ConnectorApi | undefined;
    this.apiBaseUrl =
      config.apiBaseUrl ??
      Lazy.string({
        produce: () => {
          if (!api) throw new Error('The API was not created, so its URL is unknown.');
          return api.httpApi.apiEndpoint;
        },
      });

    // The page comes before the API: the API's CORS names the page's origin. Its config.js names
    // the API's URL (the Lazy above), which only the deployment custom resource reads, so the
    // distribution depends on no part of the API.
    if (config.connectionsPage) {
      this.connectionsPage = new ConnectionsPage(this, 'ConnectionsPage', {
        apiUrl: this.apiBaseUrl,
        signInUrl: config.connectionsPage.signInUrl,
        claims: { tenant: config.tenantClaim, role: config.roleClaim, adminRole: config.adminRole },
        sourceDir: props.connectionsPageDir,
        retain: config.retainData,
        logRetention: config.logRetention,
      });
    }
    // After consent the OAuth callback sends the user to the app, else to the page, if either exists.
    const appUrl = config.appUrl ?? this.connectionsPage?.url;

    // What functions/core/runtime.ts reads; every function builds the same runtime. Variables
    // that name a resource a function may use (STATE_MACHINE_ARN, SALESFORCE_CLIENT_SECRET_ARN,
    // O365_CLIENT_SECRET_ARN) come with the grant that allows the use (lib/grants.ts). Office 365
    // is wired only where O365_CLIENT_ID is set; its login and Graph URLs keep the runtime's defaults.
    const environment: Record<string, string> = {
      TABLE_NAME: this.table.table.tableName,
      CONNECTOR_ENCRYPTION_KEY: this.encryptionKey.key.keyArn,
      TENANT_CLAIM: config.tenantClaim,
      ROLE_CLAIM: config.roleClaim,
      ADMIN_ROLE: config.adminRole,
      SALESFORCE_CLIENT_ID: config.salesforce.clientId,
      SALESFORCE_LOGIN_URL: config.salesforce.loginUrl,
      ...(config.salesforce.apiBudget === undefined ? {} : { SALESFORCE_API_BUDGET: String(config.salesforce.apiBudget) }),
      ...(config.salesforce.bulkThreshold === undefined ? {} : { SALESFORCE_BULK_THRESHOLD: String(config.salesforce.bulkThreshold) }),
      ...(config.o365 === undefined ? {} : { O365_CLIENT_ID: config.o365.clientId, O365_TENANT: config.o365.tenant }),
      OAUTH_REDIRECT_BASE_URL: this.apiBaseUrl,
      ...(appUrl === undefined ? {} : { APP_URL: appUrl }),
      // The metrics' `service` and `environment` dimensions (functions/core/metrics.ts); the
      // alarms and the dashboard read the same values.
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      ENVIRONMENT_NAME: config.name,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    const logs = { logRetention: config.logRetention, retainLogs: config.retainData };

    this.domainEvents = new DomainEvents(this, 'DomainEvents', {
      eventBusName: `connector-${config.name}`,
      grantTargets,
      environment,
      ...logs,
    });
    this.sync = new SyncStateMachine(this, 'Sync', { grantTargets, environment, ...logs });
    const stateMachine = this.sync.stateMachine;
    this.scheduledSync = new ScheduledSync(this, 'ScheduledSync', { stateMachine, grantTargets, environment, ...logs });
    this.syncRecovery = new SyncRecovery(this, 'SyncRecovery', { stateMachine, grantTargets, environment, ...logs });

    this.api = api = new ConnectorApi(this, 'Api', {
      grantTargets: { ...grantTargets, stateMachine },
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      allowedOrigins: allowedOriginsWith(config.allowedOrigins, this.connectionsPage?.url),
      tenantClaim: config.tenantClaim,
      routesFile: props.routesFile,
      handlersDir: props.handlersDir,
      environment,
      ...logs,
    });

    // Operations: every function, queue and the machine, watched from one topic and one dashboard.
    const deadLetterQueues = {
      events: this.domainEvents.deadLetters,
      scheduler: this.scheduledSync.deadLetters,
      recovery: this.syncRecovery.deadLetters,
    };
    const background = [this.scheduledSync.function, this.syncRecovery.function, this.domainEvents.function];
    this.alarms = new ServiceAlarms(this, 'Alarms', {
      environmentName: config.name,
      stateMachine,
      table: this.table.table,
      functions: {
        api: [...this.api.functions.values()].map((fn) => fn.function),
        syncSteps: [...this.sync.functions.values()].map((fn) => fn.function),
        background: background.map((fn) => fn.function),
      },
      deadLetterQueues,
      scheduledSync: { function: this.scheduledSync.function.function, every: this.scheduledSync.every },
      eventPublisher: this.domainEvents.function.function,
    });
    this.dashboard = new OperationsDashboard(this, 'Dashboard', {
      environmentName: config.name,
      stateMachine,
      table: this.table.table,
      functions: new Map([
        ...[...this.api.functions].map(([handler, fn]) => [`api/${handler}`, fn.function] as const),
        ...[...this.sync.functions].map(([handler, fn]) => [`sync/${handler}`, fn.function] as const),
        ['sync/scheduledSync', this.scheduledSync.function.function] as const,
        ['sync/recoverSync', this.syncRecovery.function.function] as const,
        ['events/publishEvents', this.domainEvents.function.function] as const,
      ]),
      deadLetterQueues,
      alarms: [...this.alarms.alarms.values()],
      eventPublisher: this.domainEvents.function.function,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.stage.url, description: 'Base URL of the Connector API' });
    new CfnOutput(this, 'SalesforceCallbackUrl', {
      value: `${this.apiBaseUrl}/oauth/salesforce/callback`,
      description: 'Callback URL to register in the Salesforce connected app',
    });
    new CfnOutput(this, 'SalesforceClientSecretName', {
      value: this.salesforceClientSecret.secretName,
      description: "Secrets Manager secret where operators put the Salesforce connected app's client secret",
    });
    if (this.o365ClientSecret) {
      new CfnOutput(this, 'O365CallbackUrl', {
        value: `${this.apiBaseUrl}/oauth/o365/callback`,
        description: 'Redirect URI to register (platform Web) in the Microsoft Entra app registration of Office 365',
      });
      new CfnOutput(this, 'O365ClientSecretName', {
        value: this.o365ClientSecret.secretName,
        description: "Secrets Manager secret where operators put the Office 365 app registration's client secret (it expires: renew it before then)",
      });
    }
    if (this.connectionsPage) {
      new CfnOutput(this, 'ConnectionsPageUrl', {
        value: this.connectionsPage.url,
        description: 'The connections page (CloudFront); the API allows its origin',
      });
    }
    new CfnOutput(this, 'SyncStateMachineArn', { value: stateMachine.stateMachineArn, description: 'The sync state machine' });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName, description: 'The single DynamoDB table' });
    new CfnOutput(this, 'EventBusName', {
      value: this.domainEvents.eventBus.eventBusName,
      description: 'EventBridge bus of the domain events (source connector-service): subscribe with a rule on this bus',
    });
    new CfnOutput(this, 'EventBusArn', { value: this.domainEvents.eventBus.eventBusArn, description: 'ARN of the domain-event bus' });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'SNS topic every alarm of the environment notifies: subscribe the on-call email, chat or pager',
    });
    new CfnOutput(this, 'EncryptionKeyArn', {
      value: this.encryptionKey.key.keyArn,
      description: 'KMS key that wraps credential data keys (CONNECTOR_ENCRYPTION_KEY)',
    });
  }
}

/** cdk.json's allowed origins, and the page's origin when there is a page and not every origin is allowed already. */
function allowedOriginsWith(allowedOrigins: readonly string[], pageOrigin: string | undefined): readonly string[] {
  return pageOrigin === undefined || allowedOrigins.includes('*') ? allowedOrigins : [...allowedOrigins, pageOrigin];
}
