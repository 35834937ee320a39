// BENCHMARKS.md sections: a benchmark replaces its own section only, wherever it is.
import { expect, test } from "bun:test";
import { replaceSection } from "../../bench/benchmarks-file.ts";

const FILE = "# Benchmarks\n\n## A\na1\n\n## B\nb1\nb2\n\n## C\nc1\n";

test("a section in the middle is replaced; the ones after it stay", () => {
  expect(replaceSection(FILE, "## B", "## B\nnew\n")).toBe("# Benchmarks\n\n## A\na1\n\n## B\nnew\n\n## C\nc1\n");
});
test("the last section is replaced; a new one is appended", () => {
  expect(replaceSection(FILE, "## C", "## C\nc2")).toBe("# Benchmarks\n\n## A\na1\n\n## B\nb1\nb2\n\n## C\nc2\n");
  expect(replaceSection(FILE, "## D", "## D\nd\n")).toBe(`${FILE}\n## D\nd\n`);
});
