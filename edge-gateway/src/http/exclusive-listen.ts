import uWS, { type ListenOptions, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { ListenError } from '../errors.js';

/**
 * uWS listens with SO_REUSEPORT by default, so a second process on the same
 * port would silently share it; exclusive makes a taken port an error. The
 * typings declare the option as an enum the runtime does not export.
 */
const EXCLUSIVE_PORT = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: ListenOptions }).LIBUS_LISTEN_EXCLUSIVE_PORT;

/** A uWS app's listening socket and the port it got (the one asked for, or a free one for 0). */
export interface Listening {
  socket: us_listen_socket;
  port: number;
}

/**
 * Listens with `app` on `host`:`port` exclusively (no SO_REUSEPORT sharing);
 * rejects with ListenError if the port is taken or cannot be bound.
 */
export function listenExclusive(app: TemplatedApp, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    // uWS takes (host, port, options, cb) at run time; its typings list no such overload.
    const listen = app.listen as unknown as (host: string, port: number, options: ListenOptions, cb: (socket: us_listen_socket | false) => void) => void;
    listen.call(app, host, port, EXCLUSIVE_PORT, (socket) => {
      if (!socket) {
        reject(new ListenError(port, host));
        return;
      }
      resolve({ socket, port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket) });
    });
  });
}
