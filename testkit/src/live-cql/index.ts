export { type CutOffProxy, startCutOffProxy } from './cut-off-proxy.js';
export { type LiveCql, dropLiveKeyspace, liveCql, liveKeyspace, liveStoreOptions, migrateLiveKeyspace } from './live-cql.js';
