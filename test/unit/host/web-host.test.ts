import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWebHost, type WebHost } from '../../../main/host/server';
import { createStudio, type Studio } from '../../../main/studio';
import { useTempDir } from '../../helpers/temp';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('web host', () => {
  const tmp = useTempDir();
  const token = 'test-token-0123456789';
  let studio: Studio;
  let host: WebHost;

  beforeEach(async () => {
    const renderer = path.join(tmp(), 'renderer');
    fs.mkdirSync(renderer);
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>studio</title>');
    fs.writeFileSync(path.join(tmp(), 'secret.txt'), 'outside');
    studio = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    host = await startWebHost({ studio, token, rendererDir: renderer });
  });

  afterEach(async () => {
    await host.close();
    await studio.close();
  });

  function request(pathname: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: host.port, path: pathname, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${host.port}`, ...options.headers } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  const call = (op: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
    request(`/api/call/${op}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  const projectCount = () => studio.store.projects.list().length;

  it('serves a call to a request with the token', async () => {
    const reply = await call('projects:create', { name: 'Study' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: true, result: { name: 'Study' } });
    expect(projectCount()).toBe(1);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer nope' }],
    ['a token of the right length but wrong', { 'x-studio-token': token.replace(/.$/, 'X') }],
  ])('refuses a request with %s (401) and writes nothing', async (_label, headers) => {
    const reply = await call('projects:create', { name: 'Sneaky' }, headers);
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.body).error.message).toMatch(/open the URL that `npm start` printed/);
    expect(projectCount()).toBe(0);
    expect((await request('/', {})).status).toBe(401);
  });

  it('refuses a foreign Host header (DNS rebinding) even with the token', async () => {
    const reply = await call('projects:create', { name: 'x' }, { authorization: `Bearer ${token}`, host: 'attacker.example:80' });
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('is not this studio');
    expect(projectCount()).toBe(0);
  });

  it('refuses a foreign Origin even with the token', async () => {
    const reply = await call('projects:create', { name: 'x' }, { authorization: `Bearer ${token}`, origin: 'https://evil.example' });
    expect(reply.status).toBe(403);
    expect(projectCount()).toBe(0);
  });

  it.each([
    ['invalid JSON', '{"name":', 'not valid JSON'],
    ['a failed validation', { name: '' }, 'name: must not be empty'],
    ['an unknown field', { name: 'a', admin: true }, 'unknown field(s) "admin"'],
  ])('answers %s with a clear 400 and writes nothing', async (_label, body, message) => {
    const reply = await call('projects:create', body);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body).error.message).toContain(message);
    expect(projectCount()).toBe(0);
  });

  it('answers a non-JSON body, a wrong method and an oversized body with 4xx', async () => {
    const form = await request('/api/call/projects:create', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'name=a' });
    expect(form.status).toBe(400);
    expect(form.body).toContain('Content-Type: application/json');
    expect((await request('/api/call/projects:list', { headers: { authorization: `Bearer ${token}` } })).status).toBe(400);
    const huge = await call('projects:create', JSON.stringify({ name: 'a', description: 'x'.repeat(1_100_000) }));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).error.message).toBe('The request body is larger than 1048576 bytes: send less at once.');
    expect((await call('projects:nuke', {})).status).toBe(404);
    expect(projectCount()).toBe(0);
  });

  it('answers an operation name that is not valid percent-encoding with a 400, and keeps answering', async () => {
    const reply = await call('%E0%A4%A', {});
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body).error.message).toBe('The operation name in the URL ("%E0%A4%A") is not valid percent-encoding: call /api/call/<operation>, e.g. /api/call/app:info.');
    expect((await call('app:info', {})).status).toBe(200);
  });

  it('takes the token in the URL only on the page load: API calls and WebSocket upgrades need the cookie or the header', async () => {
    const inQuery = await call(`projects:create?token=${token}`, { name: 'From a URL' }, {});
    expect(inQuery.status).toBe(401);
    expect(projectCount()).toBe(0);
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/api/events?token=${token}`);
    const refusal = await new Promise<string>((resolve) => socket.on('unexpected-response', (_req, res) => resolve(String(res.statusCode))).on('open', () => resolve('open')).on('error', (e) => resolve(e.message)));
    expect(refusal).toBe('401');
    const wrong = await request('/?token=not-this-one');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    // The cookie the page load trades the token for is what authenticates the calls that follow.
    const cookie = (await request(`/?token=${token}`)).headers['set-cookie']![0]!.split(';')[0]!;
    expect((await call('projects:create', { name: 'With the cookie' }, { cookie })).status).toBe(200);
    expect(projectCount()).toBe(1);
    const withCookie = new WebSocket(`ws://127.0.0.1:${host.port}/api/events`, { headers: { cookie } });
    await new Promise((resolve, reject) => withCookie.on('open', resolve).on('error', reject));
    withCookie.close();
  });

  it('trades the URL token for a strict cookie, then serves the page with a CSP', async () => {
    const first = await request(`/?token=${token}`);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/');
    const cookie = first.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await request('/', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>studio</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('never serves files outside the renderer folder', async () => {
    const reply = await request('/..%2Fsecret.txt', { headers: { authorization: `Bearer ${token}` } });
    expect(reply.body).not.toContain('outside');
  });

  it('pushes events over the WebSocket only to a client with the token', async () => {
    const url = `ws://127.0.0.1:${host.port}/api/events`;
    const refused = new WebSocket(url);
    const refusal = await new Promise<string>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(String(res.statusCode))).on('error', (e) => resolve(e.message)));
    expect(refusal).toBe('401');

    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => socket.on('open', resolve).on('error', reject));
    const event = new Promise<unknown>((resolve) => socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))));
    await call('projects:create', { name: 'Live' });
    expect(await event).toMatchObject({ name: 'projects:changed', payload: { projectId: 1 } });
    socket.close();
  });
});
