import { z } from 'zod';
import { type Logger, envInt, envString, loadEnvConfig } from '@chat/platform';
import { startCqlServer } from '@chat/conversation-actors/testing';
import type { RunningSystem } from './standalone.js';

/** The port a ScyllaDB node listens on for CQL clients: the driver's default. */
export const DEFAULT_CQL_EMULATOR_PORT = 9042;

export const cqlEmulatorEnvSchema = z.object({
  /** Where the emulator listens (CQL native protocol). */
  CQL_EMULATOR_PORT: envInt(DEFAULT_CQL_EMULATOR_PORT, 0, 65_535),
  CQL_EMULATOR_HOST: envString('127.0.0.1'),
});

/**
 * `chat cql-emulator`: the in-memory CQL emulator the Scylla store's tests use,
 * served over the CQL native protocol, so `STORE=scylla` can be tried where no
 * ScyllaDB runs (`chat migrate`, then `chat standalone`). It is not a
 * database: one node, everything in this process's memory and gone when it
 * stops, no replication, no consistency levels. For development and tests only.
 */
export async function startCqlEmulator(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(cqlEmulatorEnvSchema, env);
  const server = await startCqlServer({ host: config.CQL_EMULATOR_HOST, port: config.CQL_EMULATOR_PORT, logger: logger.child({ component: 'cql-emulator' }) });
  logger.warn('the CQL emulator keeps everything in memory and loses it when it stops: for trying STORE=scylla and for tests, never for data you want to keep');
  return { port: server.port, stop: () => server.close() };
}
