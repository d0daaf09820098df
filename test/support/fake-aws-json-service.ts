import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the fake answers as AWS does: a 400 whose body's `__type` names it. */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** One request as the fake received it. */
export interface AwsJsonRequest {
  /** `X-Amz-Target`, e.g. `TrentService.Decrypt`. */
  readonly target: string;
  readonly body: Record<string, unknown>;
  /** Whether it carried a SigV4 signature. */
  readonly signed: boolean;
}

export interface AwsJsonServiceOptions {
  /** What each operation (by `X-Amz-Target`) answers; throw an {@link AwsServiceError} to answer one. */
  readonly operations: Readonly<Record<string, (body: Record<string, unknown>) => unknown>>;
  /** Sees every well-formed request before its operation runs. */
  readonly onRequest?: (request: AwsJsonRequest) => void;
  /** Sees the status of every answer. */
  readonly onAnswer?: (status: number) => void;
}

export interface AwsJsonService {
  /** `http://127.0.0.1:<port>`, for an SDK client's `endpoint`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * An AWS service on 127.0.0.1 speaking the AWS JSON 1.1 protocol (POST, `X-Amz-Target:
 * <Service>.<Operation>`, errors as a 400 with `__type`), so the real SDK client talks to it
 * unchanged: the shared plumbing of the stand-ins for services with no local emulator (KMS,
 * Secrets Manager, EventBridge).
 */
export async function startAwsJsonService(options: AwsJsonServiceOptions): Promise<AwsJsonService> {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers['x-amz-target'] ?? '');
    let status = 200;
    let payload: unknown;
    try {
      if (request.method !== 'POST' || !request.headers['content-type']?.startsWith('application/x-amz-json-1.1')) {
        throw new AwsServiceError('UnknownOperationException', 'expected a POST of application/x-amz-json-1.1');
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      options.onRequest?.({ target, body, signed: /^AWS4-HMAC-SHA256 /.test(request.headers.authorization ?? '') });
      const operation = options.operations[target];
      if (!operation) throw new AwsServiceError('UnknownOperationException', `this fake does not implement ${target}`);
      payload = operation(body);
    } catch (error) {
      status = 400;
      const type = error instanceof AwsServiceError ? error.type : 'SerializationException';
      payload = { __type: type, message: error instanceof Error ? error.message : '' };
    }
    options.onAnswer?.(status);
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    response.end(JSON.stringify(payload));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
