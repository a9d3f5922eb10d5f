import { type Bus, LocalBus, connectNatsBus, silentLogger } from '@chat/platform';
import { type NatsServerProcess, startNatsServer } from './servers.js';

/** A gateway's and the actors' bus connections (one shared LocalBus in-process), and how to close both. */
export interface BusPair {
  gateway: Bus;
  actors: Bus;
  close(): Promise<void>;
}

/**
 * The two transports a role-level test runs over, for `describe.each`: the
 * in-process bus of standalone, and two NATS connections to a nats-server of
 * the test's own (started on a free port, stopped by close()).
 */
export const BUS_PAIRS: [string, () => Promise<BusPair>][] = [
  [
    'in-process bus (standalone)',
    async () => {
      const bus = new LocalBus();
      return { gateway: bus, actors: bus, close: () => bus.close() };
    },
  ],
  [
    'NATS (cluster)',
    async () => {
      const server: NatsServerProcess = await startNatsServer({ jetstream: false });
      const gateway = await connectNatsBus({ servers: server.url, name: 'gw', logger: silentLogger() });
      const actors = await connectNatsBus({ servers: server.url, name: 'actors', logger: silentLogger() });
      return {
        gateway,
        actors,
        close: async () => {
          await gateway.close();
          await actors.close();
          await server.stop();
        },
      };
    },
  ],
];
