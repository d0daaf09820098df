/**
 * Time budgets that must agree across the service: the provider HTTP timeout, the token
 * refresh lease that has to outlive it, and the API functions' timeout that has to outlive
 * the provider calls one request makes. Each is derived from the provider call's timeout,
 * so raising it raises the rest. Plain numbers only: lib/ (CDK) imports this file too.
 */

/** How long one provider HTTP call may take before it is abandoned as a transient failure. */
export const PROVIDER_CALL_TIMEOUT_MS = 15_000;

/**
 * How long one process may hold the right to refresh a connector's token. It covers the
 * refresh call (its client secret lookup, the call itself), sealing the new tokens and
 * storing them, with as much again as margin: a holder that is alive never sees its lease
 * lapse while its refresh is in flight.
 */
export const TOKEN_REFRESH_LEASE_MS = 2 * PROVIDER_CALL_TIMEOUT_MS;

/**
 * Provider calls one API request makes one after another at most: the OAuth callback
 * exchanges the code and, when its flow was superseded meanwhile, revokes the tokens it got;
 * disconnect revokes the grant and then stops a running sync.
 */
export const MAX_SEQUENTIAL_PROVIDER_CALLS_PER_REQUEST = 2;

/** What an API request needs besides provider calls: DynamoDB, KMS, Secrets Manager, a cold start. */
export const API_REQUEST_OVERHEAD_MS = 10_000;

/**
 * The API functions' timeout: longer than every provider call a request makes, so a hanging
 * provider ends in a provider error the service handles, never in a function killed halfway.
 */
export const API_FUNCTION_TIMEOUT_MS = MAX_SEQUENTIAL_PROVIDER_CALLS_PER_REQUEST * PROVIDER_CALL_TIMEOUT_MS + API_REQUEST_OVERHEAD_MS;
