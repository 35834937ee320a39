// Exact comparison of an old mailbox with its migrated copy.
import { expect } from "bun:test";
import type { MessageDigest } from "./mail.ts";

/** Expects the target folders to hold exactly the old folders' messages (multiset), mapped by `map`. */
export function expectSameMail(old: Map<string, MessageDigest[]>, target: Map<string, MessageDigest[]>, map: (oldFolder: string) => string = (f) => f): void {
  for (const [folder, msgs] of old) {
    const t = target.get(map(folder));
    expect({ folder: map(folder), present: t !== undefined }).toEqual({ folder: map(folder), present: true });
    expect(t!.length).toBe(msgs.length);
    expect(t).toEqual(msgs);
  }
}

export function countAll(m: Map<string, MessageDigest[]>): number {
  let n = 0;
  for (const v of m.values()) n += v.length;
  return n;
}
