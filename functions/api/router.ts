import { cancelSync } from './cancelSync';
import { connect } from './connect';
import { disconnect } from './disconnect';
import { getAuthUrl } from './getAuthUrl';
import { getEntityCounts } from './getEntityCounts';
import { getStatus } from './getStatus';
import { getSyncHistory } from './getSyncHistory';
import { list } from './list';
import { setApiBudget } from './setApiBudget';
import { setSchedule } from './setSchedule';
import { triggerSync } from './triggerSync';
import { connectorRouter } from './trpc/init';

/** The whole `connector` API; its type is what a front end's tRPC client is typed with. */
export const appRouter = connectorRouter({ list, getStatus, getSyncHistory, getEntityCounts, disconnect, getAuthUrl, triggerSync, connect, cancelSync, setSchedule, setApiBudget });

export type AppRouter = typeof appRouter;
