import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { logger } from '../core/logger';
import { runtime } from '../core/runtime';
import { traceInvocations } from '../core/tracing';

/**
 * Wraps a state-machine step as a Lambda handler: Powertools' logger gets the context, the
 * invocation is an X-Ray subsegment in Lambda (its answer is not recorded: sync states carry
 * cursors and tenant data), the runtime is built at init (a misconfigured function refuses to
 * start). Errors propagate: their name is what the state machine's Retry and Catch match.
 */
export function createStepHandler<TEvent, TResult>(step: (event: TEvent) => Promise<TResult>) {
  runtime();
  return middy<TEvent, TResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(traceInvocations())
    .handler((event) => step(event));
}
