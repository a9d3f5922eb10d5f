export { type CutOffProxy, startCutOffProxy } from './cut-off-proxy.js';
export { type LiveCql, liveCql, liveKeyspace } from './live-cql.js';
