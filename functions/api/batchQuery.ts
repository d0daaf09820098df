import { list } from './list';
import { getStatus } from './getStatus';
import { getSyncHistory } from './getSyncHistory';
import { getEntityCounts } from './getEntityCounts';
import { connectorRouter } from './trpc/init';
import { createApiHandler } from './trpc/lambda';

/**
 * `GET /trpc/{proxy+}`: batched queries (httpBatchLink joins paths with commas) and unknown
 * paths. It serves only the read procedures, so its function needs only read access.
 */
export const handler = createApiHandler(connectorRouter({ list, getStatus, getSyncHistory, getEntityCounts }));
