/** Contract area: export. Declare methods and events here; handlers live in src-main (see host/index.ts). */
export const exportMethods = {} as const;
export const exportEvents = {} as const;
