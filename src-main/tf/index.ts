export { initBackend, tfjsNodeState, useBackend } from './backend';
