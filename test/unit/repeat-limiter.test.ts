import { describe, expect, test } from "bun:test";
import { RepeatLimiter } from "../../src/repeat-limiter.ts";

describe("one problem, one log line", () => {
  test("logged when it starts, then once per interval with the repeats in between; forgotten when over", () => {
    const r = new RepeatLimiter(60_000);
    expect(r.occur("ENOSPC", 0)).toEqual({ log: true, suppressed: 0 });
    for (let t = 500; t < 60_000; t += 500) expect(r.occur("ENOSPC", t).log).toBe(false);
    expect(r.occur("ENOSPC", 60_000)).toEqual({ log: true, suppressed: 119 });
    // another problem is its own
    expect(r.occur("EISDIR", 60_100)).toEqual({ log: true, suppressed: 0 });
    r.occur("ENOSPC", 60_500);
    expect(r.clear("")).toEqual([{ key: "ENOSPC", suppressed: 1 }, { key: "EISDIR", suppressed: 0 }]);
    expect(r.occur("ENOSPC", 61_000)).toEqual({ log: true, suppressed: 0 });
  });
});
