// When `npm run bench` fails: a mailbox copied too slowly against mbsync in the same run, or
// with more CPU per MB than was recorded (bench/cpu-baseline.json). Only the full-size
// mailboxes are judged: a quick look (BENCH_SCALE < 1) is dominated by start-up. Pure.

/** Below this speed ratio against mbsync, or this much more CPU per MB than recorded, the run fails. */
export const GATES = { minSpeedRatio: 2.0, maxCpuGrowth: 1.3 };

/** What fails the run (pure): a mailbox copied below the speed gate, or with more CPU than recorded allows. */
export function regressions(rows: { scenario: string; speed: number; cpuPer100MB: number }[], recorded: Record<string, number>, scale: number): string[] {
  const out: string[] = [];
  for (const r of rows) {
    // the large-message mailbox is memory's benchmark: its speed is the servers' disk
    if (scale === 1 && !/large messages/.test(r.scenario) && r.speed < GATES.minSpeedRatio) out.push(`${r.scenario}: ${r.speed.toFixed(2)}× mbsync, below ${GATES.minSpeedRatio}×`);
    const was = recorded[r.scenario];
    if (scale === 1 && was && r.cpuPer100MB > was * GATES.maxCpuGrowth) out.push(`${r.scenario}: ${r.cpuPer100MB.toFixed(2)} CPU-s per 100 MB, more than ${GATES.maxCpuGrowth}× the recorded ${was.toFixed(2)}`);
  }
  return out;
}

