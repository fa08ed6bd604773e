/**
 * The Redis connection remote runs travel through. The URL carries everything: host, port,
 * database number, a password (`redis://:secret@host:6379/0`) and TLS (`rediss://`), so one
 * string configures the studio and every worker alike.
 */
import { Redis } from 'ioredis';
import { ApiError } from '../../shared/api/errors';

/** Check a Redis URL's form (not whether Redis answers); returns it trimmed or throws a bad_request saying what to fix. */
export function checkRedisUrl(text: string): string {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ApiError('bad_request', `"${maskRedisUrl(value)}" is not a Redis URL: write it as redis://HOST:PORT (or rediss://HOST:PORT for TLS, redis://:PASSWORD@HOST:PORT with a password).`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ApiError('bad_request', `A Redis URL starts with redis:// or rediss:// (TLS), got "${url.protocol}//": write it as redis://HOST:PORT.`);
  if (!url.hostname) throw new ApiError('bad_request', `The Redis URL "${maskRedisUrl(value)}" names no host: write it as redis://HOST:PORT.`);
  if (url.pathname && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) throw new ApiError('bad_request', `The Redis URL's path must be a database number such as /0, got "${url.pathname}".`);
  return value;
}

/** The URL as it may be shown or logged: the password replaced by ***. */
export function maskRedisUrl(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

export interface RedisOptions {
  /** Name shown by CLIENT LIST on the server (which studio or worker this is). */
  name: string;
  /** BullMQ's blocking connections must retry forever (null); short calls give up after this many tries. */
  maxRetriesPerRequest?: number | null;
}

/** A client that reconnects by itself (every 0.5 to 5 s) when Redis goes away. */
export function openRedis(url: string, options: RedisOptions): Redis {
  const redis = new Redis(url, {
    connectionName: options.name,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(500 * times, 5000),
  });
  // Without a listener ioredis prints every failed reconnect; the owner reads `status` and asks lastError instead.
  redis.on('error', (error: Error) => {
    (redis as Redis & { lastError?: string }).lastError = error.message;
  });
  return redis;
}

export function lastRedisError(redis: Redis): string | null {
  return (redis as Redis & { lastError?: string }).lastError ?? null;
}

export interface ConnectionTest {
  version: string;
  latencyMs: number;
}

/** Connect once, PING and read the server's version; throws a bad_request saying why it failed. Never retries. */
export async function testRedis(url: string, timeoutMs = 3000): Promise<ConnectionTest> {
  checkRedisUrl(url);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false, connectionName: 'blockwise-test' });
  // A refused password arrives as an error event; connect() itself only says the connection closed.
  let cause: string | undefined;
  redis.on('error', (error: Error) => (cause ??= error.message));
  try {
    await redis.connect();
    const started = performance.now();
    await redis.ping();
    const latencyMs = performance.now() - started;
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return { version, latencyMs };
  } catch (error) {
    const message = (cause ?? (error instanceof Error ? error.message : String(error))).replace(/\.+$/, '');
    throw new ApiError('bad_request', `Redis at ${maskRedisUrl(url)} did not answer: ${message}. Check that redis-server runs there, the port, the password (redis://:PASSWORD@HOST:PORT) and TLS (rediss://).`);
  } finally {
    redis.disconnect();
  }
}
