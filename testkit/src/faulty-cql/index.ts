export { type BatchStatement, type Fault, type FaultHandle, FaultyCql, type LoggedRequest } from './faulty-cql.js';
export { batchOf, isLoggedBatchOf, newGroup, seqsOf, writeFailure, writeTimeout } from './scylla-fixtures.js';
