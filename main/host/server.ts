/**
 * The web host: the StudioApi over HTTP (POST /api/call/<operation>) and WebSocket
 * (/api/events) on 127.0.0.1, plus the built renderer. Every request must carry this
 * launch's token and our own Host header.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { ApiError, type ApiErrorBody, HTTP_STATUS } from '../../shared/api/errors';
import { contentSecurityPolicy } from '../../shared/security/csp';
import type { Studio } from '../studio';
import { cookieName, hostAllowed, originAllowed, requestToken, tokenMatches } from './auth';
import { readStaticFile } from './static-files';

export const MAX_BODY_BYTES = 1024 * 1024;
const CALL_PREFIX = '/api/call/';
const EVENTS_PATH = '/api/events';

export interface WebHostOptions {
  studio: Studio;
  token: string;
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  log?: (message: string) => void;
}

export interface WebHost {
  port: number;
  /** The URL to open, token included. */
  url: string;
  close(): Promise<void>;
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const { studio, token } = options;
  const rendererDir = path.resolve(options.rendererDir);
  const server = http.createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  const securityHeaders = {
    'Content-Security-Policy': contentSecurityPolicy({ connect: [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`], frameAncestors: true }),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };

  /** Host, Origin and token checks shared by plain requests and WebSocket upgrades. */
  function admit(req: IncomingMessage, candidate: string | undefined): ApiError | undefined {
    if (!hostAllowed(req, port)) {
      return new ApiError('forbidden', `Host header ${JSON.stringify(req.headers.host ?? '')} is not this studio's: open http://127.0.0.1:${port}/ instead.`);
    }
    if (!originAllowed(req, port)) return new ApiError('forbidden', `Requests from origin ${req.headers.origin} are not accepted.`);
    if (!tokenMatches(token, candidate)) {
      return new ApiError('unauthorized', 'Missing or wrong studio token: open the URL that `npm start` printed (it carries this launch\'s token).');
    }
    return undefined;
  }

  function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string, extra: Record<string, string> = {}) {
    res.writeHead(status, { ...securityHeaders, 'Content-Type': contentType, 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  }

  function sendJson(res: ServerResponse, status: number, value: unknown) {
    send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
  }

  function sendError(res: ServerResponse, error: ApiError) {
    sendJson(res, HTTP_STATUS[error.code], { ok: false, error: error.toBody() satisfies ApiErrorBody });
  }

  async function handleCall(req: IncomingMessage, res: ServerResponse, operation: string) {
    let name: string;
    try {
      name = decodeURIComponent(operation);
    } catch {
      return sendError(res, new ApiError('bad_request', `The operation name in the URL (${JSON.stringify(operation)}) is not valid percent-encoding: call ${CALL_PREFIX}<operation>, e.g. ${CALL_PREFIX}app:info.`));
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendError(res, new ApiError('bad_request', `Use POST for ${CALL_PREFIX}${operation}, not ${req.method}.`));
    }
    // Requiring JSON also forces a CORS preflight on any cross-site attempt, which we never answer.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return sendError(res, new ApiError('bad_request', 'Send the request body as JSON with Content-Type: application/json.'));
    }
    const body = await readBody(req);
    if (body === undefined) {
      // 413 Payload Too Large: no contract error code says it, so the status is set here.
      const error = new ApiError('bad_request', `The request body is larger than ${MAX_BODY_BYTES} bytes: send less at once.`);
      return sendJson(res, 413, { ok: false, error: error.toBody() });
    }
    let input: unknown;
    try {
      input = body.length ? JSON.parse(body) : {};
    } catch (error) {
      return sendError(res, new ApiError('bad_request', `The request body is not valid JSON (${(error as Error).message}).`));
    }
    const envelope = await studio.dispatch(name, input);
    sendJson(res, envelope.ok ? 200 : HTTP_STATUS[envelope.error.code], envelope);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const pageLoad = (req.method === 'GET' || req.method === 'HEAD') && !url.pathname.startsWith('/api/');
    if (pageLoad && url.searchParams.has('token')) {
      // The one place a URL's token counts: traded for a cookie, then dropped from the address bar and history.
      const refused = admit(req, url.searchParams.get('token') ?? undefined);
      if (refused) return sendError(res, refused);
      url.searchParams.delete('token');
      const cookie = `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
      return send(res, 302, '', 'text/plain', { Location: url.pathname + url.search, 'Set-Cookie': cookie });
    }
    const refused = admit(req, requestToken(req, port));
    if (refused) return sendError(res, refused);
    if (url.pathname.startsWith(CALL_PREFIX)) return handleCall(req, res, url.pathname.slice(CALL_PREFIX.length));
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, new ApiError('bad_request', `${req.method} is not supported here.`));
    const file = readStaticFile(rendererDir, url.pathname) ?? readStaticFile(rendererDir, '/');
    if (!file) return send(res, 500, `The renderer is not built: run npm run build (looked in ${rendererDir}).`, 'text/plain; charset=utf-8');
    send(res, 200, req.method === 'HEAD' ? '' : file.body, file.contentType);
  }

  server.on('request', (req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log?.(`[web-host] ${req.method} ${req.url} failed: ${String(error)}`);
      if (!res.headersSent) sendError(res, new ApiError('internal', `The web host failed: ${String(error)}`));
      else res.end();
    });
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const refused = url.pathname === EVENTS_PATH ? admit(req, requestToken(req, port)) : new ApiError('not_found', `No WebSocket at ${url.pathname}.`);
    if (refused) {
      socket.end(`HTTP/1.1 ${HTTP_STATUS[refused.code]} ${http.STATUS_CODES[HTTP_STATUS[refused.code]]}\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const unsubscribe = studio.subscribe((event) => ws.send(JSON.stringify(event)));
      ws.on('close', unsubscribe);
      // The channel is one-way: anything a client sends is ignored.
    });
  });

  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is drained, not kept, so the 4xx answer still reaches the client.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
