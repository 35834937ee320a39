import { describe, expect, test } from "bun:test";
import { alreadyPresent, fetchHorizon, fingerprint, largestFirst, planBatches, uidsAhead, uidWindows, upToDate } from "../../src/migrate/batches.ts";

const limits = { maxMessages: 3, maxBytes: 1000, largeMessageBytes: 600 };

describe("planBatches", () => {
  test("cuts by count and by bytes, in UID order", () => {
    const b = planBatches(
      [
        { uid: 5, size: 100 },
        { uid: 1, size: 100 },
        { uid: 2, size: 100 },
        { uid: 3, size: 500 },
        { uid: 4, size: 500 },
      ],
      limits,
    );
    expect(b.map((x) => x.uids)).toEqual([[1, 2, 3], [4, 5]]);
    expect(b.map((x) => x.bytes)).toEqual([700, 600]);
  });
  test("a message above the large threshold goes alone and is marked for spooling", () => {
    const b = planBatches([{ uid: 1, size: 10 }, { uid: 2, size: 5000 }, { uid: 3, size: 10 }], limits);
    expect(b).toEqual([
      { uids: [1], bytes: 10, largest: 10, large: false },
      { uids: [2], bytes: 5000, largest: 5000, large: true },
      { uids: [3], bytes: 10, largest: 10, large: false },
    ]);
  });
  test("a single message bigger than maxBytes (but not large) still makes progress", () => {
    const b = planBatches([{ uid: 1, size: 590 }, { uid: 2, size: 590 }], { ...limits, maxBytes: 500 });
    expect(b.map((x) => x.uids)).toEqual([[1], [2]]);
  });
  test("no messages, no batches", () => expect(planBatches([], limits)).toEqual([]));
});

describe("fetchHorizon", () => {
  const kinds = (s: string) => [...s].map((c) => ({ large: c === "L" }));

  test("small batches only: one fetched ahead of the one appended, as before", () => {
    const b = kinds("SSSS");
    expect([0, 1, 2, 3].map((i) => fetchHorizon(b, i))).toEqual([2, 3, 4, 4]);
  });

  test("large messages only: one spooled ahead", () => {
    expect(fetchHorizon(kinds("LLL"), 0)).toBe(2);
  });

  test("large alternating with small: the next large one is fetched while the one before it and the small batch between are appended", () => {
    const b = kinds("LSLSL");
    // appending 0 (L): 1 (S, in memory) and 2 (L, spooled) may be fetched; not 3 (a second S)
    expect(fetchHorizon(b, 0)).toBe(3);
    expect(fetchHorizon(b, 1)).toBe(4);
    expect(fetchHorizon(b, 3)).toBe(5);
  });

  test("never more than one batch of each kind ahead: memory bounded by two batches", () => {
    const b = kinds("SLLSSLSLLLSS");
    for (let i = 0; i < b.length; i++) {
      const ahead = b.slice(i + 1, fetchHorizon(b, i));
      expect(ahead.filter((x) => x.large).length).toBeLessThanOrEqual(1);
      expect(ahead.filter((x) => !x.large).length).toBeLessThanOrEqual(1);
      if (i + 1 < b.length) expect(ahead.length).toBeGreaterThanOrEqual(1);
    }
  });

  test("the last batch: nothing ahead", () => {
    expect(fetchHorizon(kinds("SL"), 1)).toBe(2);
  });
});

describe("fingerprint / alreadyPresent", () => {
  const d = new Date("2024-01-01T10:00:00Z");
  test("the same size, second and header give the same fingerprint; any difference changes it", () => {
    expect(fingerprint(10, d, "Subject: a\r\n\r\n")).toBe(fingerprint(10, new Date(d.getTime() + 400), "Subject: a\r\n\r\n"));
    expect(fingerprint(10, d, "Subject: a\r\n\r\n")).not.toBe(fingerprint(11, d, "Subject: a\r\n\r\n"));
    expect(fingerprint(10, d, "Subject: a\r\n\r\n")).not.toBe(fingerprint(10, new Date(d.getTime() + 1000), "Subject: a\r\n\r\n"));
    expect(fingerprint(10, d, "Subject: a\r\n\r\n")).not.toBe(fingerprint(10, d, "Subject: b\r\n\r\n"));
  });
  test("true duplicates are counted: two on the old side, one on the target → one present", () => {
    const a = fingerprint(1, d, "A");
    const present = alreadyPresent([{ uid: 7, fp: a }, { uid: 3, fp: a }, { uid: 9, fp: "other" }], [a]);
    expect([...present]).toEqual([3]);
  });
  test("nothing on the target, nothing present", () => {
    expect(alreadyPresent([{ uid: 1, fp: "x" }], []).size).toBe(0);
  });
});

describe("uidWindows", () => {
  test("covers from..uidNext-1 in windows", () => {
    expect(uidWindows(1, 11, 4)).toEqual([[1, 4], [5, 8], [9, 10]]);
    expect(uidWindows(11, 11, 4)).toEqual([]);
    expect(uidWindows(0, 3, 10)).toEqual([[1, 2]]);
  });
});

describe("upToDate", () => {
  const st = { uidValidity: 5, lastUid: 10, skipped: [] as unknown[] };
  test("same UIDVALIDITY and nothing above the watermark", () => {
    expect(upToDate(st, { uidValidity: 5, uidNext: 11 })).toBe(true);
  });
  test("new mail, a new UIDVALIDITY, unknown status or no state: open the folder", () => {
    expect(upToDate(st, { uidValidity: 5, uidNext: 12 })).toBe(false);
    expect(upToDate(st, { uidValidity: 6, uidNext: 11 })).toBe(false);
    expect(upToDate(st, { uidValidity: 5 })).toBe(false);
    expect(upToDate(st, undefined)).toBe(false);
    expect(upToDate(undefined, { uidValidity: 5, uidNext: 11 })).toBe(false);
  });
  test("a batch in flight, skipped messages or a pending reconcile: open the folder", () => {
    expect(upToDate({ ...st, pending: { uids: [11] } }, { uidValidity: 5, uidNext: 11 })).toBe(false);
    expect(upToDate({ ...st, skipped: [{ uid: 3 }] }, { uidValidity: 5, uidNext: 11 })).toBe(false);
    expect(upToDate({ ...st, reconcile: true }, { uidValidity: 5, uidNext: 11 })).toBe(false);
  });
});

describe("uidsAhead / largestFirst: the order folders are copied in", () => {
  const st = { uidValidity: 5, lastUid: 10, skipped: [] };
  test("UIDs above the watermark, all of them when the folder is new or its UIDVALIDITY changed, none known without UIDNEXT", () => {
    expect(uidsAhead(st, { uidValidity: 5, uidNext: 41 })).toBe(30);
    expect(uidsAhead(st, { uidValidity: 5, uidNext: 11 })).toBe(0);
    expect(uidsAhead(st, { uidValidity: 6, uidNext: 41 })).toBe(40);
    expect(uidsAhead(undefined, { uidValidity: 6, uidNext: 41 })).toBe(40);
    // a watermark above UIDNEXT (a server that went back): nothing ahead, not a negative count
    expect(uidsAhead({ ...st, lastUid: 99 }, { uidValidity: 5, uidNext: 41 })).toBe(0);
    expect(uidsAhead(st, { uidValidity: 5 })).toBeUndefined();
    expect(uidsAhead(st, undefined)).toBeUndefined();
  });

  test("the most ahead first; equal ones and unknown ones keep their order, unknown ones last", () => {
    const folders = [
      { name: "INBOX", n: 120 },
      { name: "A", n: undefined },
      { name: "Archive", n: 50_000 },
      { name: "Sent", n: 120 },
      { name: "B", n: undefined },
      { name: "Drafts", n: 0 },
    ];
    expect(largestFirst(folders, (f) => f.n).map((f) => f.name)).toEqual(["Archive", "INBOX", "Sent", "Drafts", "A", "B"]);
    expect(largestFirst([], () => 1)).toEqual([]);
  });
});

