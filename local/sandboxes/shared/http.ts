/**
 * HTTP plumbing the sandboxes share: binding a server to 127.0.0.1 and closing it, reading
 * request bodies, sending answers with an exact Content-Length, and the `/__sandbox/*`
 * control endpoints every sandbox serves. What an answer says (status, body shape,
 * content type, headers) stays with each sandbox: that is the provider's wire format.
 */
import { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';

/** The JSON content type the sandboxes use unless a provider spells it otherwise. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** How much of a request body a sandbox reads, and the error messages it gives. */
export interface BodyLimits {
  /** Bodies longer than this many bytes are refused. */
  readonly maxBytes: number;
  /** @default 'request body too large' */
  readonly tooLarge?: string;
  /** @default 'body is not valid JSON' */
  readonly notJson?: string;
}

/** Binds `server` to 127.0.0.1 (`port` 0 or undefined picks a free one) and returns `http://127.0.0.1:PORT`. */
export async function listen(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops `server` and drops its open connections (keep-alive ones included). */
export async function close(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/**
 * Waits that {@link Delays.cancelAll} cuts off, so a sandbox in `slow` mode still closes
 * at once. A cancelled wait never resolves: its request dies with the server.
 */
export class Delays {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Resolves after `ms` milliseconds. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** Cancels every pending wait. */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * A request listener that runs `handle` and, when it throws, answers with
 * `internalError(res, message)`, or drops the connection when the answer has already begun.
 */
export function requestListener(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  internalError: (res: ServerResponse, message: string) => void,
): RequestListener {
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      internalError(res, error instanceof Error ? error.message : 'internal error');
    });
  };
}

/** Sends `body` with its Content-Type and exact Content-Length; `headers` come last and may add to them. */
export function send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers }).end(body);
}

/** Sends `body` as JSON ({@link JSON_TYPE}). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), JSON_TYPE, headers);
}

/** The request body as UTF-8 text; throws `limits.tooLarge` once it passes `limits.maxBytes`. */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limits.maxBytes) throw new Error(limits.tooLarge ?? 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request body as JSON; an empty (or all-blank) body reads as `{}`. */
export async function readJson(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  const body = await readBody(req, limits);
  try {
    return body.trim() === '' ? {} : JSON.parse(body);
  } catch {
    throw new Error(limits.notJson ?? 'body is not valid JSON');
  }
}

/** A form body; a body of another content type reads as empty (a token endpoint then misses grant_type). */
export async function readForm(req: IncomingMessage, limits: BodyLimits): Promise<URLSearchParams> {
  const body = await readBody(req, limits);
  const type = req.headers['content-type'] ?? '';
  return type.toLowerCase().startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body) : new URLSearchParams();
}

/** Text made safe to put into HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a sandbox's `/__sandbox/*` control endpoints do. Throwing answers 400 `{"error": message}`. */
export interface ControlEndpoints {
  /** `GET /__sandbox/state` answers this snapshot, for a separately running local stack. */
  state(): unknown;
  /** `POST /__sandbox/failures` applies its body this way, then answers {@link failureState}. */
  applyFailures(body: unknown): void;
  failureState(): unknown;
  /** `POST /__sandbox/data` applies its body this way and answers what this returns. */
  data(body: unknown): unknown;
  /** `POST /__sandbox/stats/reset` zeroes the counters this way, then answers {@link stats}. */
  resetStats(): void;
  stats(): unknown;
  /**
   * More control endpoints of one sandbox: `POST /__sandbox/<name>` applies its JSON body
   * with `more[name]` and answers what that returns.
   */
  readonly more?: Readonly<Record<string, (body: unknown) => unknown>>;
}

/**
 * Answers a request to `/__sandbox/...`. Control requests are never failed, delayed or
 * counted; an unknown one gets 404, a refused one 400, both as `{"error": message}`.
 * `jsonType` is the content type of the answers (default {@link JSON_TYPE}).
 */
export async function answerControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  endpoints: ControlEndpoints,
  limits: BodyLimits,
  jsonType: string = JSON_TYPE,
): Promise<void> {
  const answer = (status: number, body: unknown): void => send(res, status, JSON.stringify(body), jsonType);
  try {
    if (req.method === 'GET' && path === '/__sandbox/state') return answer(200, endpoints.state());
    if (req.method === 'POST' && path === '/__sandbox/failures') {
      endpoints.applyFailures(await readJson(req, limits));
      return answer(200, endpoints.failureState());
    }
    if (req.method === 'POST' && path === '/__sandbox/data') return answer(200, endpoints.data(await readJson(req, limits)));
    if (req.method === 'POST' && path === '/__sandbox/stats/reset') {
      endpoints.resetStats();
      return answer(200, endpoints.stats());
    }
    const more = req.method === 'POST' ? /^\/__sandbox\/([A-Za-z][A-Za-z0-9-]*)$/.exec(path) : null;
    const extra = more && endpoints.more && Object.hasOwn(endpoints.more, more[1] as string) ? endpoints.more[more[1] as string] : undefined;
    if (extra) return answer(200, extra(await readJson(req, limits)));
    return answer(404, { error: `no control endpoint ${req.method} ${path}` });
  } catch (error) {
    return answer(400, { error: error instanceof Error ? error.message : String(error) });
  }
}
