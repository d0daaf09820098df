import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { AppRouter } from '../../functions/api/router';
import { isUnauthorized, isRetryable } from './errors';

/** The API's React hooks, typed by the router: `const trpc = useTRPC()`, then `trpc.connector.<procedure>.queryOptions(...)`. */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

/** The API's batch limit: a larger batch is refused whole (docs/api.md). */
const MAX_BATCH = 10;

/**
 * The query client and the tRPC client of one session: every call carries the session's
 * bearer token; an answer of 401 (the token expired or was refused) ends the session.
 */
export function createClients(options: { url: string; getToken: () => Promise<string | null>; onUnauthorized: () => void }) {
  const onError = (error: unknown) => {
    if (isUnauthorized(error)) options.onUnauthorized();
  };
  const queryClient = new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: { retry: (failures, error) => failures < 2 && isRetryable(error), staleTime: 5_000 },
      mutations: { retry: false },
    },
  });
  const trpcClient = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: options.url,
        maxItems: MAX_BATCH,
        headers: async () => {
          const token = await options.getToken();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
  return { queryClient, trpcClient };
}
