export { type CutOffProxy, startCutOffProxy } from './cut-off-proxy.js';
export { type LiveCql, dropLiveKeyspace, liveCql, liveKeyspace } from './live-cql.js';
