// The hint that asks for a collection as socket reads pile up (read-garbage.ts): once per
// `every` bytes received, whatever the sizes of the reads.
import { expect, test } from "bun:test";
import { GarbageHint } from "../../src/mailstore/imap/read-garbage.ts";

test("a collection is asked for each time `every` more bytes have arrived, not per read", () => {
  let asked = 0;
  const hint = new GarbageHint(1000, () => asked++);
  for (let i = 0; i < 9; i++) hint.note(100);
  expect(asked).toBe(0);
  hint.note(100);
  expect(asked).toBe(1);
  // one large read counts once; the count starts again after it
  hint.note(5000);
  expect(asked).toBe(2);
  hint.note(999);
  expect(asked).toBe(2);
  hint.note(1);
  expect(asked).toBe(3);
});
