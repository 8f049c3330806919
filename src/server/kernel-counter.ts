// A Prometheus counter whose value the kernel keeps (nfacct): read when /metrics is scraped, as
// upstream's nfacctMetricCollector (pkg/proxy/metrics) does with a lazy const metric.
import { Counter, type Registry } from 'prom-client';

export function registerKernelCounter(registry: Registry, name: string, help: string, read: () => Promise<number | null>): void {
  new Counter({
    name,
    help,
    registers: [registry],
    async collect() {
      const v = await read();
      if (v === null) return; // keep the last value read
      this.reset();
      this.inc(v);
    },
  });
}
