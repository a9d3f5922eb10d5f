export * from './op-args.js';
export * from './frame-mutations.js';
