/** Contract area: engine. Declare methods and events here; handlers live in src-main (see host/index.ts). */
export const engineMethods = {} as const;
export const engineEvents = {} as const;
