// The generated mailboxes of the benchmarks (bench/run.ts against mbsync, bench/profile.ts
// for where the CPU goes): one definition, so that both measure the same mail.
import type { MailboxSpec } from "./mailgen.ts";

/** BENCH_SCALE=0.1 for a quick look; the recorded figures are from the full size. */
export const SCALE = Number(process.env.BENCH_SCALE ?? 1);

export interface Scenario {
  name: string;
  spec: MailboxSpec;
}

const folders = (n: number) => ["INBOX", ...Array.from({ length: n - 1 }, (_, i) => (i % 4 === 3 ? `Projects/P${i}` : `Folder ${i}`))];
export const SCENARIOS: Scenario[] = [
  {
    name: "6,000 messages, ~110 MB, 5 folders",
    spec: { folders: folders(5), messages: Math.round(6000 * SCALE), size: (_i, r) => { const x = r(); return x < 0.7 ? 2000 + Math.floor(r() * 4000) : x < 0.95 ? 20000 + Math.floor(r() * 20000) : 120000 + Math.floor(r() * 60000); } },
  },
  {
    name: "20 folders, 20,000 messages (no-op rerun)",
    spec: { folders: folders(20), messages: Math.round(20000 * SCALE), size: (_i, r) => 1500 + Math.floor(r() * 1500), seed: 7 },
  },
  {
    name: "large messages: 4 × 40 MB + 500 small (memory)",
    spec: { folders: ["INBOX", "Big"], messages: 504, size: (i) => (i % 126 === 1 ? 40 * 1024 * 1024 : 3000), seed: 9 },
  },
];

