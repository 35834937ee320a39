// Keeps peak RSS flat whatever the message sizes. Message bytes pass through short-lived
// Buffers (imapflow's literals, our batches); the garbage collector reclaims them lazily,
// so RSS would climb with the data volume. A full collection after every `budget` bytes
// moved bounds that at the cost of one collection per budget (about 10 ms per 8 MB moved; ~3% of a copy here).
let sinceCollect = 0;
const budget = Number(process.env.AUTOMIGRATE_GC_BUDGET_MB ?? 8) * 1024 * 1024;

export function noteTransientBytes(n: number): void {
  sinceCollect += n;
  if (sinceCollect >= budget) {
    sinceCollect = 0;
    Bun.gc(true);
  }
}
