/** The renderer's single StudioApi, over whichever transport this page was given. */
import { BRIDGE_KEY, type StudioBridge } from '../../../shared/api/bridge';
import type { StudioApi, StudioEvent } from '../../../shared/api/contract';
import { ApiError, type Envelope } from '../../../shared/api/errors';
import { bridgeTransport, type Transport, webTransport } from './transports';

export function createStudioApi(transport: Transport): StudioApi {
  return {
    async call(name, input) {
      const envelope = (await transport.call(name, input)) as Envelope<never>;
      if (envelope.ok) return envelope.result;
      throw ApiError.fromBody(envelope.error);
    },
    subscribe: (listener) => transport.subscribe((event) => listener(event as StudioEvent)),
  };
}

const bridge = (window as unknown as Record<string, StudioBridge | undefined>)[BRIDGE_KEY];

export const studioApi: StudioApi = createStudioApi(bridge ? bridgeTransport(bridge) : webTransport());
