import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../functions/api/router';

/** The API's answers, as the router types them: the page declares none of its own. */
type Outputs = inferRouterOutputs<AppRouter>['connector'];

export type ConnectorSummary = Outputs['list'][number];
export type ConnectorStatus = Outputs['getStatus'];
export type SyncHistoryEntry = Outputs['getSyncHistory'][number];
export type EntityCounts = Outputs['getEntityCounts'];
