import { fileURLToPath } from 'node:url';
import { parseOptions, USAGE, UsageError, type Options, type ScenarioName } from './cli.js';
import { Coordinator } from './coordinator.js';
import { buildReport, renderChart, renderTable, writeResults } from './report.js';
import { Context, type Scenario } from './scenario.js';
import { ServerCpu } from './server-cpu.js';
import { connections } from './scenarios/connections.js';
import { dmLatency } from './scenarios/dm-latency.js';
import { groupFanout } from './scenarios/group-fanout.js';
import { maxThroughput } from './scenarios/max-throughput.js';
import { runWorker } from './worker.js';

/**
 * The load generator: `npm run bench -- <scenario> [options]`
 * (= `node bench/run.mjs load <scenario> [options]`). The same bundle runs
 * as the coordinator and, forked with `--worker`, as its worker processes.
 */

const SCENARIO: Record<ScenarioName, Scenario> = {
  connections,
  'dm-latency': dmLatency,
  'group-fanout': groupFanout,
  'max-throughput': maxThroughput,
};

async function main(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) console.error(`error: ${err.message}\n`);
    console.error(USAGE);
    return err.message ? 2 : 0;
  }
  const startedAt = new Date();
  const coord = new Coordinator(fileURLToPath(import.meta.url), opts.workers);
  const stopOnSignal = () => {
    coord.progress.note('interrupted; stopping the workers');
    void coord.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  try {
    for (const url of opts.opsUrls) {
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) throw new Error(`${url}/readyz does not answer 200: is the server running?`);
    }
    const cpu = await ServerCpu.find({ urls: opts.metricsUrls, ports: opts.serverPorts, pids: opts.serverPids });
    const names = cpu.processes.map((p) => `${p.name} (pid ${p.pid})`);
    coord.progress.note(`server cpu: ${names.length ? `measuring ${names.join(', ')}` : 'no local server process found'}`);
    for (const problem of cpu.problems) coord.progress.note(`server cpu: not measured: ${problem}`);
    const outcome = await SCENARIO[opts.scenario](new Context(opts, coord, cpu));
    coord.phase = 'report';
    await coord.finish();
    const report = buildReport(opts, outcome, coord.total, coord.series, startedAt);
    await coord.stop();
    const files = writeResults(opts.out, report, renderChart(report, outcome));
    console.log(renderTable(report, files));
    return report.ok ? 0 : 1;
  } catch (err) {
    await coord.stop();
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (process.argv[2] === '--worker') runWorker();
else main(process.argv.slice(2)).then((code) => process.exit(code));
