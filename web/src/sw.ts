// The service worker (built to /sw.js by service-worker.ts, which fills in SHELL
// and VERSION): caches the app shell so the app opens without a network.
// The DOM typings are in scope, not the worker ones: the few worker types used are declared here.

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface WorkerScope {
  readonly location: Location;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
}

declare const __SHELL__: string[];
declare const __VERSION__: string;

/** The files of this build: index.html ('/'), the hashed assets, the icons and the manifest. Replaced at build time. */
const SHELL: string[] = __SHELL__;
/** A hash of the shell's names and contents: a new build is a new cache, and the old one is deleted. */
const VERSION: string = __VERSION__;
const PREFIX = 'chat-shell-';
const CACHE = `${PREFIX}${VERSION}`;
/** How long a navigation waits for the network before the cached index.html answers (a network that hangs). */
const NETWORK_WAIT_MS = 3_000;
// Lookups ignore Vary: the gateway varies on Accept-Encoding, and the cached copy suits any request for its path.

const worker = self as unknown as WorkerScope;
const shell = new Set(SHELL);

worker.addEventListener('install', (event) => {
  // Every file or none: a half-filled cache would open a broken app offline.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => worker.clients.claim()),
  );
});

worker.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  // The API, the WebSocket and the health and metrics endpoints are never cached: only the shell is.
  if (url.origin !== worker.location.origin || url.pathname.startsWith('/v1/')) return;
  if (request.mode === 'navigate') event.respondWith(networkFirst(request));
  else if (shell.has(url.pathname)) event.respondWith(cacheFirst(request, url.pathname));
});

/** index.html from the network while it answers (a new build shows at once), else the cached one. */
async function networkFirst(request: Request): Promise<Response> {
  try {
    const response = await withTimeout(fetch(request), NETWORK_WAIT_MS);
    if (response.ok) return response;
    return (await caches.match('/', { cacheName: CACHE, ignoreVary: true })) ?? response;
  } catch (err) {
    const cached = await caches.match('/', { cacheName: CACHE, ignoreVary: true });
    if (cached) return cached;
    throw err;
  }
}

/** Hashed assets never change under their name: the cached copy, or the network's (kept for next time). */
async function cacheFirst(request: Request, path: string): Promise<Response> {
  const cached = await caches.match(path, { cacheName: CACHE, ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    void caches.open(CACHE).then((cache) => cache.put(path, copy));
  }
  return response;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
