import { type Server, type Socket, connect, createServer } from 'node:net';

/** A TCP proxy in front of a CQL server that a test can cut off, like a network partition. */
export interface CutOffProxy {
  /** `127.0.0.1:<port>`, to give clients instead of the server's own address. */
  readonly contactPoint: string;
  /**
   * false: drops every proxied connection at once and resets each new one, so
   * the clients behind it see an unreachable cluster while the server itself
   * (shared with other suites) runs on undisturbed. true: connects again.
   */
  setReachable(reachable: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy on a free port of 127.0.0.1 to `target` (host:port). A
 * one-node cluster is all the driver learns of through it: the node's own
 * address in system.local is not used for the contact point it came through.
 */
export async function startCutOffProxy(target: string): Promise<CutOffProxy> {
  const [host, port] = splitHostPort(target);
  let reachable = true;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    if (!reachable) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host, port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the CQL proxy has no TCP address');
  const cutAll = () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    contactPoint: `127.0.0.1:${address.port}`,
    setReachable(value) {
      reachable = value;
      if (!value) cutAll();
    },
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(target: string): [string, number] {
  const i = target.lastIndexOf(':');
  return i < 0 ? [target, 9042] : [target.slice(0, i), Number(target.slice(i + 1))];
}
