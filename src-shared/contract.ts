/**
 * THE contract between the UI and the backend. Every request and every event is declared once, in
 * one of the area files under ./contract/, and gathered here. Transports (Electron IPC, WebSocket)
 * and the renderer client are generic over these maps.
 *
 * To add a method: one entry in an area file, one handler in that area's handlers (src-main). Nothing else.
 * Argument schemas validate everything that arrives from a UI before a handler sees it.
 */
import { compareMethods } from './contract/compare';
import { compressEvents, compressMethods } from './contract/compress';
import { devicesEvents, devicesMethods } from './contract/devices';
import { engineEvents, engineMethods } from './contract/engine';
import { exportEvents, exportMethods } from './contract/export';
import { coreEvents, coreMethods } from './contract/core';
import { pipelineEvents, pipelineMethods } from './contract/pipeline';
import { searchEvents, searchMethods } from './contract/search';

export const methods = {
  ...coreMethods,
  ...pipelineMethods,
  ...compareMethods,
  ...engineMethods,
  ...devicesMethods,
  ...exportMethods,
  ...compressMethods,
  ...searchMethods,
} as const;

export const events = {
  ...coreEvents,
  ...pipelineEvents,
  ...engineEvents,
  ...devicesEvents,
  ...exportEvents,
  ...compressEvents,
  ...searchEvents,
} as const;

export type Methods = typeof methods;
export type Events = typeof events;
export type MethodName = keyof Methods & string;
export type EventName = keyof Events & string;
export const methodNames = Object.keys(methods) as MethodName[];
export const eventNames = Object.keys(events) as EventName[];
