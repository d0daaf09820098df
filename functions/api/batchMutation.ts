import { appRouter } from './router';
import { createApiHandler } from './trpc/lambda';

/** `POST /trpc/{proxy+}`: batched mutations (and mutations sent in a mixed batch) over the whole router. */
export const handler = createApiHandler(appRouter);
