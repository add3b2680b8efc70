// Sandboxed preload (emitted as CommonJS): exposes exactly the contract transport as `window.pocketbench`.
import { contextBridge, ipcRenderer } from 'electron';
import { createPreloadBridge } from './preload-bridge';

contextBridge.exposeInMainWorld('pocketbench', createPreloadBridge(ipcRenderer));
