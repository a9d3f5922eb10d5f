export { type LiveCql, liveCql, liveKeyspace } from './live-cql.js';
