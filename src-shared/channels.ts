/** The two Electron IPC channels, defined once; the preload and the main adapter both import them. */
export const IPC_CALL = 'pocketbench:call';
export const IPC_EVENT = 'pocketbench:event';
