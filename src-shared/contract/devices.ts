/** Contract area: devices. Declare methods and events here; handlers live in src-main (see host/index.ts). */
export const devicesMethods = {} as const;
export const devicesEvents = {} as const;
