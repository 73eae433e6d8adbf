export * from './common.ts';
export * from './events.ts';
export * from './api.ts';
export * from './validate.ts';
export * from './actor.ts';
export * from './permissions.ts';
export * from './data-schemas.ts';
export * from './minimum-necessary.ts';
