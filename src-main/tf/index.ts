export { initBackend } from './backend';
