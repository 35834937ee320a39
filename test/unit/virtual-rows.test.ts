// The console's windowed list: which rows are on screen for a cursor (pure).
import { expect, test } from "bun:test";
import { windowTop } from "../../tui/virtual-rows.ts";

test("short lists start at the top; the window moves only as far as the cursor needs", () => {
  expect(windowTop(10, 9, 0, 20)).toBe(0);
  expect(windowTop(10_000, 0, 0, 20)).toBe(0);
  expect(windowTop(10_000, 19, 0, 20)).toBe(0);
  expect(windowTop(10_000, 20, 0, 20)).toBe(1); // one row down: the window follows by one
  expect(windowTop(10_000, 9_999, 0, 20)).toBe(9_980); // End
  expect(windowTop(10_000, 9_985, 9_980, 20)).toBe(9_980); // inside: no move
  expect(windowTop(10_000, 100, 9_980, 20)).toBe(100); // up past the top: cursor on the first line
});
test("a list that shrank under the window is shown to its end, never past it", () => {
  expect(windowTop(30, 29, 9_980, 20)).toBe(10);
  expect(windowTop(30, 5, 9_980, 20)).toBe(5);
});
