// The example dashboard and alert rules use only metrics the daemon exports.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonMetrics } from "../../daemon/metrics.ts";

test("every metric named in examples/monitoring exists, with the labels used", async () => {
  const m = new DaemonMetrics({ jobs: () => [], accounts: () => new Map(), verified: () => new Map(), routingLookups: () => 0, firstLogins: () => undefined, tokenRequests: () => new Map(), logLag: () => [] });
  const exported = new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, x]));
  const dir = join(import.meta.dir, "..", "..", "examples", "monitoring");
  for (const file of ["alerts.yml", "grafana-dashboard.json"]) {
    const text = readFileSync(join(dir, file), "utf8");
    const used = [...text.matchAll(/automigrate_[a-z_]+/g)].map((x) => x[0].replace(/_(bucket|count|sum)$/, ""));
    expect(used.length).toBeGreaterThan(1);
    for (const name of used) expect({ file, name, exported: exported.has(name) }).toEqual({ file, name, exported: true });
    for (const [, name, labels] of text.matchAll(/(automigrate_[a-z_]+)\{([^}]*)\}/g)) {
      for (const [, label] of labels!.matchAll(/([a-z_]+)=/g)) expect({ name, label, known: ["domain", "old_server", "state", "outcome", "code", "result", "status", "log"].includes(label!) }).toEqual({ name, label, known: true });
    }
  }
});
