/**
 * Who may talk to the web host: only a page that knows this launch's secret token, reached
 * through our own loopback address. The Host check defeats DNS rebinding; the Origin check
 * and SameSite=Strict cookie keep other web pages from driving the studio.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenMatches(expected: string, candidate: string | undefined): boolean {
  if (candidate === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(candidate);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Cookies are not scoped by port, so the name carries it: two studios on one machine keep their own. */
export const cookieName = (port: number) => `blockwise_token_${port}`;

export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export function hostAllowed(req: IncomingMessage, port: number): boolean {
  return allowedHosts(port).includes((req.headers.host ?? '').toLowerCase());
}

/** Browsers send Origin on cross-origin requests and WebSocket upgrades; when present it must be ours. */
export function originAllowed(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  return origin === undefined || allowedHosts(port).some((h) => origin === `http://${h}`);
}

/**
 * The token an API call or WebSocket upgrade carries: the Authorization bearer or the launch
 * cookie. Never the query string: URLs end up in logs and history, so ?token= is only traded
 * for the cookie when the page loads (server.ts).
 */
export function requestToken(req: IncomingMessage, port: number): string | undefined {
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  return bearer ?? readCookie(req, cookieName(port));
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
