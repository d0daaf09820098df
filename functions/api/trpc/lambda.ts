import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { AnyTRPCRouter, TRPCError } from '@trpc/server';
import { awsLambdaRequestHandler } from '@trpc/server/adapters/aws-lambda';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ProviderError } from '../../core/errors';
import { logger } from '../../core/logger';
import { runtime } from '../../core/runtime';
import { traceInvocations } from '../../core/tracing';
import { createContext } from './context';
import { userMessage } from './errors';

/** Every tRPC route lives under this prefix; the procedure path is what follows it. */
const TRPC_PREFIX = '/trpc';

/** What a throttled caller is told to wait when the provider named no wait of its own. */
export const DEFAULT_THROTTLED_RETRY_AFTER_SECONDS = 60;

/**
 * The Retry-After, in whole seconds, of a response whose calls failed because a provider
 * throttled us (always one) or is down (when the provider named a wait): the longest wait
 * any failed call asks for. Undefined when no call asks the client to come back later.
 */
export function retryAfterSecondsFor(errors: readonly TRPCError[]): number | undefined {
  let longest: number | undefined;
  for (const error of errors) {
    if (error.code !== 'TOO_MANY_REQUESTS' && error.code !== 'SERVICE_UNAVAILABLE') continue;
    const hint = error.cause instanceof ProviderError ? error.cause.retryAfterSeconds : undefined;
    const wait = hint ?? (error.code === 'TOO_MANY_REQUESTS' ? DEFAULT_THROTTLED_RETRY_AFTER_SECONDS : undefined);
    if (wait !== undefined) longest = Math.max(longest ?? 0, Math.ceil(wait));
  }
  return longest;
}

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * Wraps a router as an API Gateway HTTP API (v2) Lambda handler: Powertools' logger gets
 * the Lambda context, the invocation is an X-Ray subsegment in Lambda (its answer is not
 * recorded: it is tenant data), tRPC's own adapter speaks the wire protocol, and each failed
 * call is logged exactly once and counted in ApiErrors by its tRPC code. Errors the gateway
 * answers itself (API Gateway's JWT authorizer, or the local gateway's) never reach here.
 */
export function createApiHandler(router: AnyTRPCRouter): ApiHandler {
  // Build clients and services during init: a misconfigured function refuses to start.
  runtime();
  const trpcHandler = awsLambdaRequestHandler({
    router,
    createContext,
    maxBatchSize: 10,
    responseMeta({ errors }) {
      const retryAfter = retryAfterSecondsFor(errors);
      return retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } };
    },
    onError({ error, path, ctx, input }) {
      const connectorId = (input as { connectorId?: unknown } | undefined)?.connectorId;
      const keys = {
        requestId: ctx?.requestId,
        tenantId: ctx?.caller?.tenantId,
        procedure: path,
        connectorId: typeof connectorId === 'string' ? connectorId.slice(0, 128) : undefined,
        code: error.code,
      };
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error('procedure failed', { ...keys, error: error.cause ?? error });
      else logger.warn('procedure rejected', { ...keys, reason: userMessage(error) });
      // The code is the dimension (a dozen values); the tenant only a property of the record.
      runtime().metrics.record('ApiErrors', 1, { code: error.code, tenantId: keys.tenantId });
    },
  });
  return middy<ApiEvent, APIGatewayProxyResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(traceInvocations())
    .before((request) => {
      // Per-procedure routes have no {proxy+} parameter, so tRPC reads the procedure from
      // the raw path: take the prefix off. Catch-all routes pass their proxy parameter.
      const { rawPath } = request.event;
      if (rawPath.startsWith(`${TRPC_PREFIX}/`)) {
        request.event = { ...request.event, rawPath: rawPath.slice(TRPC_PREFIX.length) };
      }
    })
    .handler((event, context) => trpcHandler(event, context) as Promise<APIGatewayProxyResultV2>);
}
