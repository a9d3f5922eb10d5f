export * from './op-args.js';
export * from './frame-mutations.js';
export * from './fuzz-socket.js';
