import { Gauge, type Registry } from 'prom-client';

// Replaced by the bundler (deploy/build.mjs); unbundled runs (tests, tsx) report 'dev'.
declare const __CHAT_VERSION__: string | undefined;
declare const __CHAT_REVISION__: string | undefined;

/** What this build is: the release version and the git commit it was built from. */
export const BUILD_INFO: { readonly version: string; readonly revision: string } = {
  version: typeof __CHAT_VERSION__ === 'string' ? __CHAT_VERSION__ : 'dev',
  revision: typeof __CHAT_REVISION__ === 'string' ? __CHAT_REVISION__ : 'unknown',
};

/**
 * Registers `chat_build_info{version,revision,role} 1`: one series per
 * process, so dashboards can tell versions apart during a rollout and count
 * processes by role.
 */
export function registerBuildInfo(registry: Registry, role: string): void {
  const gauge = new Gauge({
    name: 'chat_build_info',
    help: 'Always 1; the labels say which build and role this process runs.',
    labelNames: ['version', 'revision', 'role'],
    registers: [registry],
  });
  gauge.set({ ...BUILD_INFO, role }, 1);
}
