import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WriteGatherer } from "../../src/mailstore/imap/write-gather.ts";

/** A socket stand-in that records each write (a copy: the gatherer reuses its chunks) and lets the test say when each is flushed. */
function recorder() {
  const writes: { bytes: Buffer; same: Buffer; flush: (err?: Error) => void }[] = [];
  const write = (data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ bytes: Buffer.from(data), same: data, flush: (err) => (err ? reject(err) : resolve()) });
    });
  /** A write that the socket flushes at once. */
  const writeFlushed = (data: Buffer) => {
    const p = write(data);
    writes.at(-1)!.flush();
    return p;
  };
  return { writes, write, writeFlushed };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("gathering a command's pieces into few writes", () => {
  test("many small pieces become chunk-sized writes with the same bytes in the same order", async () => {
    const r = recorder();
    const g = new WriteGatherer(r.writeFlushed, 64);
    const pieces: Buffer[] = [];
    for (let i = 0; i < 50; i++) pieces.push(Buffer.from(`piece ${i} ${"x".repeat(i % 13)}\r\n`));
    for (const p of pieces) await g.add(p);
    await g.add("tail é\r\n");
    await g.flush();
    const all = Buffer.concat([...pieces, Buffer.from("tail é\r\n", "utf8")]);
    expect(Buffer.concat(r.writes.map((w) => w.bytes)).equals(all)).toBe(true);
    expect(r.writes.length).toBe(Math.ceil(all.length / 64));
    expect(r.writes.slice(0, -1).every((w) => w.bytes.length === 64)).toBe(true);
  });

  test("text pieces (UTF-8, some straddling a chunk's end) and bytes interleaved: the same bytes in the same order", async () => {
    const r = recorder();
    const g = new WriteGatherer(r.writeFlushed, 64);
    const expected: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const text = `A${i} (\\Seen) "é${"x".repeat(i % 7)}" {${i}}\r\n`;
      await g.add(text);
      expected.push(Buffer.from(text, "utf8"));
      const bytes = Buffer.alloc(i % 5, 0x30 + (i % 10));
      await g.add(bytes);
      expected.push(bytes);
    }
    await g.flush();
    expect(Buffer.concat(r.writes.map((w) => w.bytes)).equals(Buffer.concat(expected))).toBe(true);
    expect(r.writes.slice(0, -1).every((w) => w.bytes.length === 64)).toBe(true);
  });

  test("a piece as large as a chunk is written as it is, after what was gathered before it", async () => {
    const r = recorder();
    const g = new WriteGatherer(r.writeFlushed, 16);
    const big = Buffer.alloc(40, 0x61);
    await g.add("head ");
    await g.add(big);
    await g.add(" end");
    await g.flush();
    expect(r.writes.map((w) => w.bytes.toString())).toEqual(["head ", "a".repeat(40), " end"]);
    expect(r.writes[1]!.same).toBe(big);
  });

  test("a chunk is not refilled before the socket has flushed it, and flush() waits for the last write", async () => {
    const r = recorder();
    const g = new WriteGatherer(r.write, 6);
    let added = false;
    const adding = (async () => {
      await g.add("aaa");
      await g.add("aaa"); // chunk 0 full
      await g.add("bbb"); // chunk 0 written; chunk 1 filling
      await g.add("bbb");
      await g.add("cc"); // chunk 1 written: "cc" waits until chunk 0 is flushed
      added = true;
    })();
    await tick();
    expect(r.writes.map((w) => w.bytes.toString())).toEqual(["aaaaaa", "bbbbbb"]);
    expect(added).toBe(false);
    r.writes[0]!.flush();
    await adding;
    expect(added).toBe(true);
    let flushed = false;
    const done = g.flush().then(() => (flushed = true));
    await tick();
    expect(r.writes.map((w) => w.bytes.toString())).toEqual(["aaaaaa", "bbbbbb", "cc"]);
    r.writes[1]!.flush();
    await tick();
    expect(flushed).toBe(false);
    r.writes[2]!.flush();
    await done;
    expect(flushed).toBe(true);
  });

  test("a failed write fails the gatherer's next wait, and is never an unhandled rejection", async () => {
    const r = recorder();
    const g = new WriteGatherer(r.write, 6);
    await g.add("aaaaaa"); // as large as a chunk: written at once
    r.writes[0]!.flush(new Error("connection reset"));
    await tick();
    await expect(g.add("bbb")).rejects.toThrow("connection reset");
    await expect(g.flush()).rejects.toThrow("connection reset");
    const h = new WriteGatherer(r.write, 6);
    await h.add("ccc");
    await h.add("ccc");
    await h.add("dd"); // "cccccc" written
    r.writes[1]!.flush(new Error("broken pipe"));
    await expect(h.flush()).rejects.toThrow("broken pipe");
  });

  test("a spooled file is read straight into the chunks, between the pieces around it; a short file says how much it had", async () => {
    const dir = mkdtempSync(join(tmpdir(), "am-gather-"));
    try {
      const path = join(dir, "spool");
      const body = Buffer.from(Array.from({ length: 50 }, (_, i) => `line ${i}\r\n`).join(""));
      writeFileSync(path, body);
      const r = recorder();
      const g = new WriteGatherer(r.writeFlushed, 64);
      const fd = openSync(path, "r");
      try {
        await g.add("{size}\r\n");
        expect(await g.addFile(fd, body.length)).toBe(body.length);
        await g.add("\r\n");
        await g.flush();
        expect(Buffer.concat(r.writes.map((w) => w.bytes)).toString()).toBe(`{size}\r\n${body}\r\n`);
        expect(r.writes.every((w) => w.bytes.length <= 64)).toBe(true);
        expect(await g.addFile(fd, body.length + 10)).toBe(body.length);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
