// An HTTP proxy in front of the embedded S3 server that fails, delays or cuts chosen requests on the wire, so that the
// S3 client's own retry logic and error parsing see exactly what a misbehaving S3 endpoint would send:
//   const proxy = await startFaultProxy(s3.endpoint);            // closed when the test finishes
//   proxy.plan((r) => (r.position === 3 && r.attempt === 1 ? { kind: 'slowdown' } : undefined));
//   const handler = createIngestHandler({ s3: localS3Client(proxy.endpoint), ... });
// A request's `position` counts distinct SDK invocations (the `amz-sdk-invocation-id` header the SDK keeps across its
// retries), so "the Nth request" and "every attempt of the Nth request" can both be named.
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';

export interface ProxiedRequest {
  /** 1-based, in order of arrival, every attempt counted. */
  seq: number;
  /** 1-based index of the SDK invocation this attempt belongs to. */
  position: number;
  /** 1 for the first attempt of an invocation, 2 for the SDK's first retry, ... */
  attempt: number;
  method: string;
  /** Path-style: `/<bucket>/<key...>`, percent-encoded as sent. */
  path: string;
  /** The key, decoded, when the path names one. */
  key: string;
  /** What the proxy did to it. */
  fault: FaultKind | 'pass';
}

export type FaultKind = 'slowdown' | 'error' | 'delay' | 'reset-before' | 'reset-after';

export type FaultAction =
  /** 503 SlowDown with S3's XML error body; the request never reaches the server. */
  | { kind: 'slowdown' }
  /** Any other error response, e.g. 500 InternalError or 403 AccessDenied; the request never reaches the server. */
  | { kind: 'error'; status: number; code: string }
  /** Held for `ms`, then forwarded. */
  | { kind: 'delay'; ms: number }
  /** The connection is cut before the request reaches the server (the client sees a socket hang-up). */
  | { kind: 'reset-before' }
  /** The request is forwarded and completed by the server, then the connection is cut before the answer gets back. */
  | { kind: 'reset-after' };

export type FaultPlan = (request: Omit<ProxiedRequest, 'fault'>) => FaultAction | undefined;

export interface FaultProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  /** Faults applied so far (every faulted attempt counts once). */
  readonly injected: number;
  /** Conditional PUTs answered 412 (with `currentEtag` only). */
  readonly preconditionFailures: number;
  /** Replaces the plan; undefined lets everything through. */
  plan(plan: FaultPlan | undefined): void;
  /** Forgets the requests seen so far, so positions count from 1 again (the injected total is kept). */
  resetPositions(): void;
  /** Resolves when no request is being handled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function errorBody(code: string, message: string, resource: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message><Resource>${resource}</Resource>` +
    `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`
  );
}

const MESSAGES: Record<string, string> = {
  SlowDown: 'Please reduce your request rate.',
  PreconditionFailed: 'At least one of the pre-conditions you specified did not hold',
  InternalError: 'We encountered an internal error. Please try again.',
  ServiceUnavailable: 'Service is unable to handle request.',
  AccessDenied: 'Access Denied',
};

function keyOf(path: string): string {
  const [, , ...rest] = path.split('?')[0]!.split('/');
  try {
    return decodeURIComponent(rest.join('/'));
  } catch {
    return rest.join('/');
  }
}

export interface FaultProxyOptions {
  cleanup?: 'test' | 'manual';
  /**
   * S3's conditional writes, which s3rver ignores: given the current ETag of a key (quoted, as S3 sends it; undefined
   * when there is no object), a PUT with `If-None-Match: *` or `If-Match` whose condition does not hold is answered
   * 412 PreconditionFailed. Check and write are one step per key, and a HEAD never runs in the middle of one.
   */
  currentEtag?: (bucket: string, key: string) => Promise<string | undefined>;
}

export async function startFaultProxy(upstream: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  const positions = new Map<string, number>();
  let plan: FaultPlan | undefined;
  let injected = 0;
  let preconditionFailures = 0;
  let active = 0;
  let waiters: Array<() => void> = [];

  const done = () => {
    active--;
    if (active === 0) {
      for (const w of waiters) w();
      waiters = [];
    }
  };

  const drain = (req: IncomingMessage) =>
    new Promise<void>((resolve) => {
      req.on('data', () => undefined);
      req.on('end', resolve);
      req.on('error', () => resolve());
      req.on('close', () => resolve());
    });

  const forward = (req: IncomingMessage, res: ServerResponse, cutAfter: boolean): Promise<void> =>
    new Promise((resolve) => {
      const out = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          if (cutAfter) {
            // The server has done its work; the answer is lost on the way back.
            up.resume();
            up.on('end', () => {
              req.socket.destroy();
              resolve();
            });
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          res.on('close', () => resolve());
          up.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      out.on('error', () => {
        req.socket.destroy();
        resolve();
      });
      req.pipe(out);
    });

  const respondError = async (req: IncomingMessage, res: ServerResponse, status: number, code: string, path: string) => {
    await drain(req);
    const body = req.method === 'HEAD' ? '' : errorBody(code, MESSAGES[code] ?? code, path);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'FAULT' });
    res.end(body);
  };

  const keyLock = createKeyLock();
  /** Hands the request to the server (with S3's conditions checked first, when asked to). */
  const reachServer = (req: IncomingMessage, res: ServerResponse, path: string, cutAfter: boolean): Promise<void> => {
    const currentEtag = options.currentEtag;
    const [, bucket = '', ...rest] = path.split('?')[0]!.split('/');
    if (!currentEtag || rest.length === 0 || (req.method !== 'PUT' && req.method !== 'HEAD')) return forward(req, res, cutAfter);
    const key = keyOf(path);
    return keyLock(`${bucket}/${key}`, async () => {
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      if (req.method === 'PUT' && (ifMatch !== undefined || ifNoneMatch !== undefined)) {
        const etag = await currentEtag(bucket, key);
        const holds = ifNoneMatch === '*' ? etag === undefined : ifMatch === etag;
        if (!holds) {
          preconditionFailures++;
          if (!cutAfter) return respondError(req, res, 412, 'PreconditionFailed', path);
          // Refused, and the refusal lost on the way back.
          await drain(req);
          req.socket.destroy();
          return;
        }
      }
      return forward(req, res, cutAfter);
    });
  };

  const server = http.createServer((req, res) => {
    active++;
    void (async () => {
      const invocation = String(req.headers['amz-sdk-invocation-id'] ?? `anonymous-${requests.length}`);
      let position = positions.get(invocation);
      if (position === undefined) {
        position = positions.size + 1;
        positions.set(invocation, position);
      }
      const attempt = Number(/attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''))?.[1] ?? 1);
      const path = req.url ?? '/';
      const seen = { seq: requests.length + 1, position, attempt, method: req.method ?? 'GET', path, key: keyOf(path) };
      const action = plan?.(seen);
      requests.push({ ...seen, fault: action?.kind ?? 'pass' });
      if (action) injected++;
      switch (action?.kind) {
        case undefined:
          return reachServer(req, res, path, false);
        case 'delay':
          await new Promise((r) => setTimeout(r, action.ms));
          return reachServer(req, res, path, false);
        case 'reset-after':
          return reachServer(req, res, path, true);
        case 'reset-before':
          req.socket.destroy();
          return;
        case 'slowdown':
          return respondError(req, res, 503, 'SlowDown', path);
        case 'error':
          return respondError(req, res, action.status, action.code, path);
      }
    })().finally(done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get injected() {
      return injected;
    },
    get preconditionFailures() {
      return preconditionFailures;
    },
    plan: (p) => {
      plan = p;
    },
    resetPositions: () => {
      requests.length = 0;
      positions.clear();
    },
    idle: () => (active === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      })),
  };
  if ((options.cleanup ?? 'test') === 'test') onTestFinished(() => proxy.close());
  return proxy;
}
