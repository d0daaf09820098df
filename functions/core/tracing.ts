import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';

/**
 * Whether this process may trace: only inside Lambda (`AWS_EXECUTION_ENV`), not under SAM
 * local, and not when `POWERTOOLS_TRACE_ENABLED=false`, the same rule by which Powertools
 * switches its tracer off.
 */
export function tracingPossible(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_EXECUTION_ENV) && !env.AWS_SAM_LOCAL && env.POWERTOOLS_TRACE_ENABLED?.trim().toLowerCase() !== 'false';
}

/**
 * The process's X-Ray tracer (Powertools), one per Lambda container; undefined where tracing
 * is not possible (the local stack, tests), and then everything below is a no-op that prints
 * nothing.
 *
 * Loaded only where it may trace: the X-Ray SDK enables an async hook (cls-hooked) as soon as
 * it is imported, which makes every promise in the process several times slower. In Lambda
 * that is the price of tracing; the local stack, the tests and the benchmark do not pay it.
 *
 * `captureHTTPsRequests` is off on purpose. Powertools would otherwise patch node's http and
 * https modules and subscribe to undici's diagnostics channels (which do cover Node 24's
 * global `fetch`), making one subsegment per request named by host. For provider calls that
 * is the wrong shape: Salesforce hosts are per org, so the service map would grow a node per
 * tenant; the URL path would be recorded; the X-Ray trace header would be sent to third
 * parties; and the AWS SDK's own requests would be traced twice (once there, once by
 * {@link traceAwsClient}). {@link traceProviderCall} records provider calls instead.
 */
export const tracer: Tracer | undefined = tracingPossible(process.env)
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({
      serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'connector',
      captureHTTPsRequests: false,
    })
  : undefined;

/** True when this process records traces. */
export function isTracingEnabled(): boolean {
  return tracer?.isTracingEnabled() ?? false;
}

/**
 * The middy middleware that makes each invocation a subsegment (`## <handler>`, annotated
 * with cold start and service) and records its error; for `.use()`. Answers are not recorded:
 * they are tenant data, and sync states carry cursors. None where tracing is off.
 */
export function traceInvocations(): middy.MiddlewareObj[] {
  return tracer ? [captureLambdaHandler(tracer, { captureResponse: false })] : [];
}

/**
 * Traces an AWS SDK v3 client: a subsegment per call (DynamoDB, Step Functions, KMS, Secrets
 * Manager), named by service, under the invocation's segment. Answers the same client, untouched
 * where tracing is off. Wrap the base client before deriving others from it (a DynamoDB
 * document client shares its base client's middleware, so it is traced too).
 */
export function traceAwsClient<TClient>(client: TClient): TClient {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/** What a provider call's subsegment records about the request: never its path or query (they may hold a token). */
export interface ProviderCallTrace {
  /** The provider, as its adapter names it ("Salesforce"): the subsegment's name, so the service map has one node per provider. */
  readonly provider: string;
  readonly method: string;
  /** The request's URL; only its origin (scheme, host, port) is recorded. */
  readonly url: string;
}

/**
 * Runs one provider HTTP call in its own subsegment, named by provider and annotated with
 * `provider` and the answer's `status` (annotations are indexed: a trace search such as
 * `annotation.provider = "Salesforce" AND annotation.status = 429` finds throttled calls).
 * Flags follow X-Ray's conventions: 429 throttle, 4xx error, 5xx fault; no answer is a fault with its error.
 *
 * The subsegment is added to the current segment without becoming the active one, so calls
 * that run side by side (a page read ahead while another is written) cannot nest in each other.
 */
export async function traceProviderCall(trace: ProviderCallTrace, call: () => Promise<Response>): Promise<Response> {
  if (!tracer?.isTracingEnabled()) return await call();
  // The provider's own getSegment: Tracer.getSegment warns when there is none (outside an invocation).
  const parent = tracer.provider.getSegment();
  if (!parent) return await call();
  const subsegment = parent.addNewSubsegment(trace.provider);
  subsegment.addAttribute('namespace', 'remote');
  subsegment.addAnnotation('provider', trace.provider);
  const request = { method: trace.method, url: originOf(trace.url) };
  try {
    const response = await call();
    subsegment.addAnnotation('status', response.status);
    subsegment.addAttribute('http', { request, response: { status: response.status } });
    if (response.status === 429) subsegment.addThrottleFlag();
    if (response.status >= 400 && response.status < 500) subsegment.addErrorFlag();
    else if (response.status >= 500) subsegment.addFaultFlag();
    return response;
  } catch (error) {
    subsegment.addAttribute('http', { request });
    subsegment.addError(error instanceof Error ? error : String(error), true);
    throw error;
  } finally {
    subsegment.close();
  }
}

/** Scheme, host and port of a URL, or nothing for a URL that does not parse. */
function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
