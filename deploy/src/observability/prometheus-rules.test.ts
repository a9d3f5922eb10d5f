import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LATENCY_RECORDING_RULES, alertNames, findPrometheusBinary, prometheusDir, prometheusRulesFile, promtool, recordedNames } from './prometheus-files.js';

/**
 * deploy/prometheus checked by promtool (Debian's prometheus package; CI
 * installs it). Without promtool these tests fail, saying what to install:
 * they never skip.
 */
describe('Prometheus rules and configuration (deploy/prometheus)', () => {
  const rules = readFileSync(prometheusRulesFile(), 'utf8');
  const tests = readFileSync(join(prometheusDir(), 'rules.test.yml'), 'utf8');

  it('without promtool these tests fail with what to install, and CI installs it', () => {
    expect(() => findPrometheusBinary('promtool', ['/nonexistent'])).toThrow(
      'promtool not found on PATH or in /usr/sbin: install the Debian package `prometheus` (apt-get install prometheus); CI installs it in .ci/run',
    );
    expect(readFileSync(join(prometheusDir(), '..', '..', '.ci', 'run'), 'utf8')).toMatch(/command -v promtool.*\|\| missing\+=\(prometheus\)/);
  });

  it('promtool check rules: rules.yml is valid', () => {
    const { status, output } = promtool(['check', 'rules', 'rules.yml']);
    expect(status, output).toBe(0);
  });

  it('promtool test rules: the alerts and recording rules behave as rules.test.yml expects', () => {
    const { status, output } = promtool(['test', 'rules', 'rules.test.yml']);
    expect(status, output).toBe(0);
  });

  it('promtool check config: prometheus.yml (with its rule_files) is valid', () => {
    const { status, output } = promtool(['check', 'config', 'prometheus.yml']);
    expect(status, output).toBe(0);
  });

  it('every alert has a severity, a summary and a description, and unit tests where it fires and where it does not', () => {
    const alerts = alertNames(rules);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    // One rule's text: from its `- alert:` line to the next rule or group.
    const blocks = rules.split(/^(?=\s*- (?:alert|record):|\s*- name:)/m);
    for (const alert of alerts) {
      const block = blocks.find((b) => new RegExp(`^\\s*- alert: ${alert}\\s*$`, 'm').test(b))!;
      expect(block, alert).toMatch(/^\s+severity: (critical|warning|info)\s*$/m);
      expect(block, alert).toMatch(/^\s+summary: \S/m);
      expect(block, alert).toMatch(/^\s+description: \S/m);
      // Cases of this alert in rules.test.yml: `alertname: X` followed by its exp_alerts.
      const cases = [...tests.matchAll(new RegExp(`alertname: ${alert}\\s*\\n\\s*exp_alerts:(.*)`, 'g'))].map((m) => m[1]!.trim());
      expect(cases.filter((c) => c === '[]').length, `${alert}: a case where it does not fire`).toBeGreaterThan(0);
      expect(cases.filter((c) => c === '').length, `${alert}: a case where it fires`).toBeGreaterThan(0);
    }
  });

  it('the p99 recording rules (and the delivery p50) exist, and each has an expected value in rules.test.yml', () => {
    const recorded = recordedNames(rules);
    for (const name of LATENCY_RECORDING_RULES) {
      expect(recorded).toContain(name);
      expect(tests, name).toContain(`- expr: ${name}\n`);
    }
  });
});
