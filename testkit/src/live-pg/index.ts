export { type LivePg, postgresBinDir, startLivePg } from './live-pg.js';
