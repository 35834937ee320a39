// What makes `npm run bench` fail (bench/gates.ts).
import { expect, test } from "bun:test";
import { regressions } from "../../bench/gates.ts";

const rows = [
  { scenario: "6,000 messages", speed: 2.6, cpuPer100MB: 1.5 },
  { scenario: "large messages: 4 × 40 MB", speed: 1.1, cpuPer100MB: 0.4 },
];

test("speed below 2× mbsync fails (not for the large-message mailbox); CPU per MB more than 30% over the recorded fails; only at full scale", () => {
  expect(regressions(rows, { "6,000 messages": 1.4 }, 1)).toEqual([]);
  expect(regressions([{ ...rows[0]!, speed: 1.9 }], {}, 1)).toEqual(["6,000 messages: 1.90× mbsync, below 2×"]);
  expect(regressions(rows, { "6,000 messages": 1.1 }, 1)).toEqual(["6,000 messages: 1.50 CPU-s per 100 MB, more than 1.3× the recorded 1.10"]);
  // a quick look at another scale is not compared with full-size figures
  expect(regressions([{ ...rows[0]!, speed: 1.2 }], { "6,000 messages": 1.1 }, 0.1)).toEqual([]);
});
