import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logWithKeys, logger } from '../core/logger';
import { runtime } from '../core/runtime';
import type { CallbackOutcome } from '../core/services/oauth-service';
import { traceInvocations } from '../core/tracing';

const services = runtime();

/**
 * `GET /oauth/<provider>/callback`: where the provider sends the user back after consent.
 * No JWT here (a redirect carries none); the single-use state binds it to a tenant. The
 * user goes on to the app (APP_URL) with the outcome, or sees a small page.
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(traceInvocations())
  .handler(async (event) => {
    const providerId = /^\/oauth\/([a-z0-9]+)\/callback$/.exec(event.rawPath)?.[1] ?? '';
    const { state, code, error } = event.queryStringParameters ?? {};
    const log = logWithKeys({ requestId: event.requestContext.requestId, procedure: 'oauthCallback', connectorId: providerId });
    try {
      return answer(await services.oauthService.completeAuthorization(providerId, { state, code, error }, log), services.appUrl);
    } catch (cause) {
      log.error('authorization callback failed', { error: cause as Error });
      services.metrics.record('ApiErrors', 1, { code: 'INTERNAL_SERVER_ERROR' });
      return page(500, 'Something went wrong on our side while connecting. Please start the connection again.');
    }
  });

function answer(outcome: CallbackOutcome, appUrl: string | undefined): APIGatewayProxyStructuredResultV2 {
  if (outcome.kind === 'rejected') {
    // A callback that is not one (no or unknown state): counted as the API's other bad requests are.
    services.metrics.record('ApiErrors', 1, { code: 'BAD_REQUEST' });
    return page(400, outcome.message);
  }
  const message = outcome.kind === 'connected' ? 'Connected. You can close this window.' : outcome.message;
  if (!appUrl) return page(outcome.kind === 'connected' ? 200 : 400, message);
  const target = new URL(appUrl);
  target.searchParams.set('connector', outcome.providerId);
  target.searchParams.set('status', outcome.kind === 'connected' ? 'connected' : 'error');
  if (outcome.kind === 'failed') target.searchParams.set('message', outcome.message);
  return { statusCode: 302, headers: { location: target.toString(), 'cache-control': 'no-store' } };
}

function page(statusCode: number, message: string): APIGatewayProxyStructuredResultV2 {
  const text = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!doctype html><html><head><meta charset="utf-8"><title>Connector</title></head><body><p>${text}</p></body></html>`,
  };
}
