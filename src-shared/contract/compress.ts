/** Contract area: compress. Declare methods and events here; handlers live in src-main (see host/index.ts). */
export const compressMethods = {} as const;
export const compressEvents = {} as const;
