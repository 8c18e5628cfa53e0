// Prometheus metrics (prom-client): requests by action and code, latency by action, the
// background jobs waiting and running, and fault injection (faults injected, rules active).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetadataRepository } from '../domain/ports.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'ensnap_requests_total',
    help: 'API requests by action and result code (OK or the error code)',
    labelNames: ['action', 'code'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'ensnap_request_duration_seconds',
    help: 'API request latency by action, from the first byte of the request to the response',
    labelNames: ['action'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  private readonly faults = new Counter({
    name: 'ensnap_faults_injected_total',
    help: 'Faults injected by fault rules, by action and code (the error code, latency or fail-next-snapshot)',
    labelNames: ['action', 'code'] as const,
    registers: [this.registry],
  });

  constructor(repo: MetadataRepository, activeFaultRules: () => number) {
    new Gauge({
      name: 'ensnap_fault_rules',
      help: 'Fault rules active (not yet spent)',
      registers: [this.registry],
      collect() {
        this.set(activeFaultRules());
      },
    });
    new Gauge({
      name: 'ensnap_jobs',
      help: 'Background jobs by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await repo.countJobs();
        this.set({ state: 'queued' }, counts.queued);
        this.set({ state: 'running' }, counts.running);
      },
    });
  }

  // The labelled series of each (action, code), found once: prom-client hashes the label object on
  // every call otherwise. Both keys are bounded (catalog actions and catalog error keys).
  private readonly counters = new Map<string, { inc(): void }>();
  private readonly histograms = new Map<string, { observe(value: number): void }>();

  /** Codes come from the operator's rules, so these labels stay bounded too. */
  faultInjected(action: string, code: string): void {
    this.faults.inc({ action, code });
  }

  /** `action` is a catalog action or "" and `code` a catalog key, so labels stay bounded. */
  observe(action: string, code: string, seconds: number): void {
    const label = action || 'unknown';
    const key = label + ' ' + code;
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = this.requests.labels({ action: label, code });
      this.counters.set(key, counter);
    }
    counter.inc();
    let histogram = this.histograms.get(label);
    if (histogram === undefined) {
      histogram = this.latency.labels({ action: label });
      this.histograms.set(label, histogram);
    }
    histogram.observe(seconds);
  }
}
