export { startStandalone, standaloneEnvSchema, type RunningSystem } from './roles/standalone.js';
