// Bulk: 10,000 incidents in one direct invocation, through the simulator at
// D3's 50 requests per second. Prints the elapsed time and peak RSS.
const { handler } = await import(process.argv[2]);
const incidentNumbers = Array.from({ length: 10_000 }, (_, i) => `20251124-${i}`);
const context = { awsRequestId: 'bench-bulk', getRemainingTimeInMillis: () => 60_000 };
const started = performance.now();
const cpu = process.cpuUsage();
const result = await handler({ incidentNumbers, site: 'Bulk Bench' }, context);
const elapsedMs = performance.now() - started;
const used = process.cpuUsage(cpu);
console.log(
  `RESULT ${JSON.stringify({ elapsedMs, updated: result.updated.length, failed: result.failed.length, peakRssKb: process.resourceUsage().maxRSS, cpuMs: (used.user + used.system) / 1000 })}`,
);
