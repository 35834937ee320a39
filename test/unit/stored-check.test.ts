import { describe, expect, test } from "bun:test";
import { compareStored, headerDigest } from "../../src/migrate/stored-check.ts";

const msg = (header: string, body = "body\r\n") => Buffer.concat([Buffer.from(header, "latin1"), Buffer.from("\r\n"), Buffer.from(body)]);

describe("what the new server stored", () => {
  test("only headers with 8-bit bytes get a digest; the body does not count", () => {
    expect(headerDigest(msg("Subject: plain\r\n", "K\xf6rper"))).toBeUndefined();
    expect(headerDigest(msg("Subject: Gr\xfc\xdfe\r\n"))).toMatch(/^[0-9a-f]{64}$/);
    expect(headerDigest(Buffer.from("Subject: no body, no blank line \xe9", "latin1"))).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a size difference, or the same size with the 8-bit header rewritten, is an alteration", () => {
    const raw = msg("Subject: Gr\xfc\xdfe\r\n");
    const munged = Buffer.from(raw.toString("latin1").replace(/[\x80-\xff]/g, "X"), "latin1");
    const header = (b: Buffer) => b.subarray(0, b.indexOf("\r\n\r\n") + 4);
    const sent = [
      { oldUid: 1, targetUid: 11, size: raw.length, header8bit: headerDigest(raw) },
      { oldUid: 2, targetUid: 12, size: 100 },
      { oldUid: 3, targetUid: 13, size: 50 },
      { oldUid: 4, targetUid: 14, size: raw.length, header8bit: headerDigest(raw) },
    ];
    const stored = new Map([
      [11, { size: munged.length, header: header(munged) }],
      [12, { size: 102 }],
      [13, { size: 50 }],
      [14, { size: raw.length, header: header(raw) }],
      // 15 never asked; a UID gone from the new server is not an alteration
    ]);
    expect(compareStored(sent, stored)).toEqual([
      { uid: 1, sent: raw.length, stored: munged.length, what: "header" },
      { uid: 2, sent: 100, stored: 102, what: "size" },
    ]);
    expect(compareStored([{ oldUid: 9, targetUid: 99, size: 5 }], stored)).toEqual([]);
  });
});

import { compareDigests } from "../../src/migrate/verify.ts";

describe("verify's comparison", () => {
  test("multisets: duplicates count, a skipped UID is not missing, another date is altered", () => {
    const old = [
      { uid: 1, sha: "a", date: 1 },
      { uid: 2, sha: "a", date: 1 },
      { uid: 3, sha: "b", date: 2 },
      { uid: 4, sha: "c", date: 3 },
      { uid: 5, sha: "d", date: 4 },
    ];
    const target = [
      { sha: "a", date: 1 },
      { sha: "b", date: 9 },
      { sha: "e", date: 5 },
    ];
    expect(compareDigests(old, target, new Set([4]))).toEqual({ missing: 2, altered: 1, extra: 1, missingUids: [2, 5] });
  });
});

describe("verify's folder order", () => {
  test("INBOX first, then by name, whatever order the state recorded", async () => {
    const { folderOrder } = await import("../../src/migrate/verify.ts");
    expect(["Work/2024", "Work", "INBOX", "Archive"].sort(folderOrder)).toEqual(["INBOX", "Archive", "Work", "Work/2024"]);
  });
});
