import { type Server, type Socket, connect, createServer } from 'node:net';

/** A TCP proxy in front of a CQL server that a test can cut off, like a network partition. */
export interface CutOffProxy {
  /** `127.0.0.1:<port>`, to give clients instead of the server's own address. */
  readonly contactPoint: string;
  /**
   * false: from now on nothing passes either way, on open connections and on
   * new ones (they connect, and hang), as when a partition drops packets: the
   * clients behind it see requests time out while the server itself (shared
   * with other suites) runs on undisturbed. true: what was held goes through,
   * late, as after a partition heals, and traffic flows again.
   */
  setReachable(reachable: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy on a free port of 127.0.0.1 to `target` (host:port). For a
 * one-node cluster: the driver uses the contact point it came through for
 * that node, and there are no peers to reach around the proxy.
 *
 * Connections are held, not dropped, while cut off: dropped connections send
 * the driver into its reconnection backoff (up to 30 s between attempts),
 * which would measure the backoff policy rather than the store.
 */
export async function startCutOffProxy(target: string): Promise<CutOffProxy> {
  const [host, port] = splitHostPort(target);
  let reachable = true;
  const pairs = new Set<[Socket, Socket]>();
  const flow = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ([client, upstream]: [Socket, Socket]) => {
    // Unpiped, each side stops reading: bytes wait in the socket buffers, unread, in order.
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const server: Server = createServer((client) => {
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
    if (reachable) flow(pair);
    else hold(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the CQL proxy has no TCP address');
  return {
    contactPoint: `127.0.0.1:${address.port}`,
    setReachable(value) {
      if (value === reachable) return;
      reachable = value;
      for (const pair of pairs) (value ? flow : hold)(pair);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(target: string): [string, number] {
  const i = target.lastIndexOf(':');
  return i < 0 ? [target, 9042] : [target.slice(0, i), Number(target.slice(i + 1))];
}
