import type { CreateAWSLambdaContextOptions } from '@trpc/server/adapters/aws-lambda';
import { TRPCError } from '@trpc/server';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { authConfig } from '../../core/config';
import { logWithKeys } from '../../core/logger';
import type { Caller } from '../../core/services/caller';

/** Bodies above this are refused before parsing; the API's inputs are a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The tRPC context: the verified caller (null when the token carried no usable identity) and the request id. */
export interface ApiContext {
  readonly caller: Caller | null;
  readonly requestId: string;
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const auth = authConfig();

/**
 * Builds the context from the HTTP API event. The JWT authorizer (in AWS) or the local
 * gateway has already verified the token; this reads tenant and role from its claims.
 */
export function createContext({
  event,
}: CreateAWSLambdaContextOptions<APIGatewayProxyEventV2WithJWTAuthorizer>): ApiContext {
  const requestId = event.requestContext.requestId;
  const body = event.body ?? '';
  const size = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
  if (size > MAX_BODY_BYTES) {
    throw new TRPCError({
      code: 'PAYLOAD_TOO_LARGE',
      message: `The request body is ${size} bytes; at most ${MAX_BODY_BYTES} are accepted.`,
    });
  }
  const claims = event.requestContext.authorizer?.jwt?.claims ?? {};
  const tenantId = claims[auth.tenantClaim];
  if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) return { caller: null, requestId };
  const role = claims[auth.roleClaim] === auth.adminRole ? 'admin' : 'member';
  return { caller: { tenantId, role, log: logWithKeys({ requestId, tenantId }) }, requestId };
}
