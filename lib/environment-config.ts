import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { API_BUDGET_RANGE } from '../functions/core/api-budget';

/**
 * The settings of one deployment environment, as written under
 * `context.environments.<name>` in cdk.json.
 */
export interface EnvironmentSettings {
  /** Issuer (`iss`) the API's JWT authorizer accepts; API Gateway requires an https URL. */
  readonly jwtIssuer: string;
  /** Audiences (`aud`) the JWT authorizer accepts; a token must carry at least one. */
  readonly jwtAudience: readonly string[];
  /**
   * Name of the claim that carries the caller's tenant id.
   * @default 'tenant_id'
   */
  readonly tenantClaim?: string;
  /**
   * Name of the claim that carries the caller's role.
   * @default 'role'
   */
  readonly roleClaim?: string;
  /**
   * Role value that admin procedures require.
   * @default 'admin'
   */
  readonly adminRole?: string;
  /** Browser origins allowed by the API's CORS preflight; empty turns CORS off. */
  readonly allowedOrigins: readonly string[];
  /** Retention of every log group of the stack, in days (one of CloudWatch's allowed values). */
  readonly logRetentionDays: number;
  /**
   * The Salesforce connected app this environment connects through. The client secret is not
   * configuration: operators put it in the stack's Secrets Manager secret.
   */
  readonly salesforce: {
    /** The connected app's consumer key (client id); public, it travels in every authorize URL. */
    readonly clientId: string;
    /**
     * Where users log in and tokens are issued: `https://test.salesforce.com` for sandboxes,
     * or a My Domain URL.
     * @default 'https://login.salesforce.com'
     */
    readonly loginUrl?: string;
    /**
     * The share of an org's daily API allowance a sync may bring its usage to
     * (`SALESFORCE_API_BUDGET`); a connector's own (`setApiBudget`) wins.
     * @default - 0.8 (the runtime's default)
     */
    readonly apiBudget?: number;
    /**
     * Records above which an object read from its start goes through a Bulk API 2.0 job
     * (`SALESFORCE_BULK_THRESHOLD`).
     * @default - 50,000 (the runtime's default)
     */
    readonly bulkThreshold?: number;
  };
  /**
   * The Microsoft Entra app registration Office 365 connects through, if this environment offers
   * Office 365. As for Salesforce, the client secret is not configuration: operators put it in
   * the stack's Secrets Manager secret.
   * @default - Office 365 cannot be connected or synced in this environment
   */
  readonly o365?: {
    /** The app registration's application (client) id; public, it travels in every authorize URL. */
    readonly clientId: string;
    /**
     * Which accounts may sign in: `common` (work, school and personal accounts), `organizations`,
     * `consumers`, or one directory's tenant id or domain (`contoso.onmicrosoft.com`). Must
     * match the app registration's supported account types.
     * @default 'common'
     */
    readonly tenant?: string;
  };
  /**
   * The public base URL of the API (a custom domain mapped to it) when clients and providers do
   * not use the execute-api URL; the OAuth callback is `<apiBaseUrl>/oauth/<provider>/callback`.
   * @default - the HTTP API's own URL
   */
  readonly apiBaseUrl?: string;
  /**
   * The app page the OAuth callback sends the user back to (with the outcome as query parameters).
   * @default - the callback answers with a small page
   */
  readonly appUrl?: string;
  /**
   * Serve the connections page (the static build in `web/dist`) from a private S3 bucket
   * through CloudFront, and let its origin call the API. `{}` turns it on with no sign-in link.
   * @default - no page: no bucket, no distribution, no outputs
   */
  readonly connectionsPage?: {
    /**
     * Where the page sends a user who has no token: the platform's sign-in, which issues the
     * bearer tokens the API's JWT authorizer accepts.
     * @default - the page shows no sign-in link
     */
    readonly signInUrl?: string;
  };
}

/** The connections page of an environment, when it has one. */
export interface ConnectionsPageConfig {
  readonly signInUrl?: string;
}

/** The Salesforce connected app of an environment, with defaults applied. */
export interface SalesforceConfig {
  readonly clientId: string;
  readonly loginUrl: string;
  /** Set only where the environment overrides the runtime's default. */
  readonly apiBudget?: number;
  readonly bulkThreshold?: number;
}

/** The Office 365 (Microsoft Entra) app registration of an environment, with defaults applied. */
export interface O365Config {
  readonly clientId: string;
  readonly tenant: string;
}

/** One environment's settings with defaults applied and names checked. */
export interface EnvironmentConfig {
  /** The environment's name (`dev`, `prod`, ...), as picked with `-c env=<name>`. */
  readonly name: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: readonly string[];
  readonly tenantClaim: string;
  readonly roleClaim: string;
  readonly adminRole: string;
  readonly allowedOrigins: readonly string[];
  readonly logRetention: RetentionDays;
  readonly salesforce: SalesforceConfig;
  /** The Office 365 app registration; absent when the environment does not offer Office 365. */
  readonly o365?: O365Config;
  /** The API's public base URL, if it is not the HTTP API's own URL (no trailing slash). */
  readonly apiBaseUrl?: string;
  readonly appUrl?: string;
  /** The connections page; absent when the environment does not serve it. */
  readonly connectionsPage?: ConnectionsPageConfig;
  /**
   * Whether stateful resources (table, key, log groups) outlive the stack and resist deletion.
   * Only `dev` is disposable.
   */
  readonly retainData: boolean;
}

/** The environment that may be torn down with its data. */
const DISPOSABLE_ENVIRONMENT = 'dev';

/**
 * Reads the environment picked with `-c env=<name>` from the `environments` context of
 * cdk.json, applies defaults and checks every value, so a typo fails the synth with a
 * sentence instead of deploying a broken authorizer.
 */
export function readEnvironmentConfig(scope: Construct): EnvironmentConfig {
  const environments = scope.node.tryGetContext('environments') as Record<string, unknown> | undefined;
  if (!isRecord(environments) || Object.keys(environments).length === 0) {
    throw new Error('cdk.json has no "environments" context: add one entry per environment (dev, prod, ...).');
  }
  const known = Object.keys(environments).join(', ');
  const name: unknown = scope.node.tryGetContext('env');
  if (name === undefined || name === '') {
    throw new Error(`No environment picked: run with -c env=<name>, where <name> is one of: ${known}.`);
  }
  if (typeof name !== 'string' || !Object.hasOwn(environments, name)) {
    throw new Error(`Unknown environment "${String(name)}": pick one of: ${known} (-c env=<name>).`);
  }
  return parseEnvironmentSettings(name, environments[name]);
}

/** Checks one environment's raw settings and applies defaults; exported for tests. */
export function parseEnvironmentSettings(name: string, raw: unknown): EnvironmentConfig {
  const where = `environments.${name}`;
  if (!isRecord(raw)) throw new Error(`${where} must be an object.`);

  const jwtIssuer = requireString(raw, 'jwtIssuer', where);
  if (!/^https:\/\/[^\s]+$/.test(jwtIssuer)) {
    throw new Error(`${where}.jwtIssuer must be an https URL (API Gateway's JWT authorizer requires one), got "${jwtIssuer}".`);
  }
  const jwtAudience = requireStringList(raw, 'jwtAudience', where);
  if (jwtAudience.length === 0) throw new Error(`${where}.jwtAudience must name at least one audience.`);

  const allowedOrigins = requireStringList(raw, 'allowedOrigins', where);
  for (const origin of allowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(`${where}.allowedOrigins has "${origin}", which is not an origin (scheme://host[:port], no path).`);
    }
  }

  const logRetentionDays = raw.logRetentionDays;
  const allowedRetention = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');
  if (typeof logRetentionDays !== 'number' || !allowedRetention.includes(logRetentionDays)) {
    throw new Error(
      `${where}.logRetentionDays must be one of CloudWatch's retention periods (${allowedRetention.join(', ')}), got ${JSON.stringify(logRetentionDays)}.`,
    );
  }

  const salesforce = raw.salesforce;
  if (!isRecord(salesforce)) {
    throw new Error(`${where}.salesforce must be an object with the connected app's clientId (and optionally loginUrl).`);
  }
  const loginUrl = optionalString(salesforce, 'loginUrl', `${where}.salesforce`) ?? 'https://login.salesforce.com';
  if (!/^https:\/\/[^/\s]+$/.test(loginUrl)) {
    throw new Error(`${where}.salesforce.loginUrl must be an https origin (scheme://host, no path), got "${loginUrl}".`);
  }

  const o365 = parseO365(raw.o365, `${where}.o365`);

  const apiBaseUrl = optionalString(raw, 'apiBaseUrl', where);
  if (apiBaseUrl !== undefined && !/^https:\/\/[^\s?#]+$/.test(apiBaseUrl)) {
    throw new Error(`${where}.apiBaseUrl must be an https URL without query or fragment, got "${apiBaseUrl}".`);
  }
  const appUrl = optionalString(raw, 'appUrl', where);
  if (appUrl !== undefined && !/^https?:\/\/[^\s#]+$/.test(appUrl)) {
    throw new Error(`${where}.appUrl must be an http(s) URL, got "${appUrl}".`);
  }
  const connectionsPage = parseConnectionsPage(raw.connectionsPage, `${where}.connectionsPage`);

  return {
    name,
    jwtIssuer,
    jwtAudience,
    tenantClaim: optionalString(raw, 'tenantClaim', where) ?? 'tenant_id',
    roleClaim: optionalString(raw, 'roleClaim', where) ?? 'role',
    adminRole: optionalString(raw, 'adminRole', where) ?? 'admin',
    allowedOrigins,
    logRetention: logRetentionDays as RetentionDays,
    salesforce: { clientId: requireString(salesforce, 'clientId', `${where}.salesforce`), loginUrl, ...parseSalesforceSync(salesforce, `${where}.salesforce`) },
    ...(o365 === undefined ? {} : { o365 }),
    ...(apiBaseUrl === undefined ? {} : { apiBaseUrl: apiBaseUrl.replace(/\/+$/, '') }),
    ...(appUrl === undefined ? {} : { appUrl }),
    ...(connectionsPage === undefined ? {} : { connectionsPage }),
    retainData: name !== DISPOSABLE_ENVIRONMENT,
  };
}

/** Checks the optional sync settings of `salesforce` (`where` names them in errors). */
function parseSalesforceSync(salesforce: Record<string, unknown>, where: string): Pick<SalesforceConfig, 'apiBudget' | 'bulkThreshold'> {
  const { apiBudget, bulkThreshold } = salesforce;
  if (apiBudget !== undefined && (typeof apiBudget !== 'number' || apiBudget < API_BUDGET_RANGE.min || apiBudget > API_BUDGET_RANGE.max)) {
    throw new Error(`${where}.apiBudget must be a share of the org's API allowance between ${API_BUDGET_RANGE.min} and ${API_BUDGET_RANGE.max}, got ${JSON.stringify(apiBudget)}.`);
  }
  if (bulkThreshold !== undefined && (typeof bulkThreshold !== 'number' || !Number.isInteger(bulkThreshold) || bulkThreshold < 0)) {
    throw new Error(`${where}.bulkThreshold must be a whole number of records, got ${JSON.stringify(bulkThreshold)}.`);
  }
  return { ...(apiBudget !== undefined && { apiBudget }), ...(bulkThreshold !== undefined && { bulkThreshold }) };
}

/** Checks the optional `o365` settings of an environment (`where` names them in errors). */
function parseO365(raw: unknown, where: string): O365Config | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    throw new Error(`${where} must be an object with the app registration's clientId (and optionally tenant), or be left out.`);
  }
  const clientId = requireString(raw, 'clientId', where);
  const tenant = optionalString(raw, 'tenant', where) ?? 'common';
  // One path segment of the login URL: common, organizations, consumers, a tenant id or a domain.
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(tenant)) {
    throw new Error(
      `${where}.tenant must be common, organizations, consumers, a tenant id or a domain (contoso.onmicrosoft.com), got "${tenant}".`,
    );
  }
  return { clientId, tenant };
}

/** Checks the optional `connectionsPage` settings of an environment (`where` names them in errors). */
function parseConnectionsPage(raw: unknown, where: string): ConnectionsPageConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    throw new Error(`${where} must be an object ({} serves the page; optionally { "signInUrl": "https://..." }), or be left out.`);
  }
  const unknown = Object.keys(raw).filter((key) => key !== 'signInUrl');
  if (unknown.length > 0) throw new Error(`${where} has unknown settings (${unknown.join(', ')}): the only one is signInUrl.`);
  const signInUrl = optionalString(raw, 'signInUrl', where);
  if (signInUrl !== undefined && !/^https:\/\/[^\s"'<>\\]+$/.test(signInUrl)) {
    throw new Error(`${where}.signInUrl must be an https URL, got "${signInUrl}".`);
  }
  return signInUrl === undefined ? {} : { signInUrl };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(raw: Record<string, unknown>, key: string, where: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${where}.${key} must be a non-empty string.`);
  return value;
}

function optionalString(raw: Record<string, unknown>, key: string, where: string): string | undefined {
  return raw[key] === undefined ? undefined : requireString(raw, key, where);
}

function requireStringList(raw: Record<string, unknown>, key: string, where: string): string[] {
  const value = raw[key];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.trim() !== '')) {
    throw new Error(`${where}.${key} must be a list of non-empty strings.`);
  }
  return value as string[];
}
