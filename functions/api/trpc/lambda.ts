import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { AnyTRPCRouter } from '@trpc/server';
import { awsLambdaRequestHandler } from '@trpc/server/adapters/aws-lambda';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { logger } from '../../core/logger';
import { runtime } from '../../core/runtime';
import { createContext } from './context';
import { userMessage } from './errors';

/** Every tRPC route lives under this prefix; the procedure path is what follows it. */
const TRPC_PREFIX = '/trpc';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * Wraps a router as an API Gateway HTTP API (v2) Lambda handler: Powertools' logger gets
 * the Lambda context, tRPC's own adapter speaks the wire protocol, and each failed call
 * is logged exactly once.
 */
export function createApiHandler(router: AnyTRPCRouter): ApiHandler {
  // Build clients and services during init: a misconfigured function refuses to start.
  runtime();
  const trpcHandler = awsLambdaRequestHandler({
    router,
    createContext,
    maxBatchSize: 10,
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
    },
  });
  return middy<ApiEvent, APIGatewayProxyResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
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
