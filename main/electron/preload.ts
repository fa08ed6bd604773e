/** Runs sandboxed before the renderer: exposes the StudioBridge and nothing else. */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { BRIDGE_KEY, IPC_CHANNELS, type StudioBridge } from '../../shared/api/bridge';

const bridge: StudioBridge = {
  call: (name, input) => ipcRenderer.invoke(IPC_CHANNELS.call, name, input),
  onEvent(listener) {
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(IPC_CHANNELS.event, forward);
    return () => {
      ipcRenderer.removeListener(IPC_CHANNELS.event, forward);
    };
  },
};

if (process.contextIsolated) contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
else throw new Error('[preload] context isolation is off; refusing to expose the studio bridge');
