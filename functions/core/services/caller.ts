/** The structured log a service writes to; the API hands in one that already carries request keys. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown> | Error): void;
}

/** Who is calling: the tenant every key is built from, the role, and the request's log. */
export interface Caller {
  readonly tenantId: string;
  readonly role: 'admin' | 'member';
  readonly log: Log;
}
