export { startStandalone, standaloneEnvSchema, type RunningSystem } from './roles/standalone.js';
// For testkit, which starts real `chat` processes and local clusters the way users do.
export { chatBin } from './paths.js';
export { LocalCluster, type LocalClusterOptions, scrapeMetric, waitReady } from './cluster/local-cluster.js';
export { freePort } from './local-servers/index.js';
