/**
 * The remote queue as the renderer sees it (Training > Remote workers): the Redis URL in use,
 * whether it answers, the workers heard from and this studio's runs on the queue. Polled while a
 * view shows it, since heartbeats are not pushed.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RemoteStatus } from '../../../shared/api/schemas';
import { studioApi } from '../api/studio';

export const REMOTE_POLL_MS = 2000;

export const useRemoteStore = defineStore('remote', () => {
  const status = ref<RemoteStatus | null>(null);
  const connected = computed(() => status.value?.connected === true);
  const configured = computed(() => status.value?.url != null);

  async function load(): Promise<RemoteStatus> {
    status.value = await studioApi.call('remote:status', {});
    return status.value;
  }

  /** Connect once and PING; resolves with the server's version and round trip, rejects saying why not. */
  const test = (url: string) => studioApi.call('remote:test', { url });

  /** Use this URL (tested by the host first), or none. */
  async function configure(url: string | null): Promise<RemoteStatus> {
    status.value = await studioApi.call('remote:configure', { url });
    return status.value;
  }

  /** Refresh every few seconds until the returned function is called. */
  function poll(onError: (message: string) => void = () => undefined): () => void {
    const tick = () => void load().catch((error: unknown) => onError(error instanceof Error ? error.message : String(error)));
    tick();
    const timer = setInterval(tick, REMOTE_POLL_MS);
    return () => clearInterval(timer);
  }

  return { status, connected, configured, load, test, configure, poll };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useRemoteStore, import.meta.hot));
