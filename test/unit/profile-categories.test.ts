// How bench/profile.ts groups a CPU profile's samples: by the first frame from the leaf up
// that names a part of the engine.
import { describe, expect, test } from "bun:test";
import { categorize, OTHER, type CpuProfile } from "../../bench/profile-categories.ts";

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url }, children });

describe("profile categories", () => {
  // root → session onData → framer take → native copy; root → appender write → native writeBuffered;
  // root → (idle); root → fetch-parse under reader; root → an unknown module
  const p: CpuProfile = {
    nodes: [
      frame(1, "(root)", "", [2, 5, 7, 8, 10]),
      frame(2, "onData", "file:///x/src/mailstore/imap/session.ts", [3]),
      frame(3, "take", "file:///x/src/mailstore/imap/framer.ts", [4]),
      frame(4, "copy", ""),
      frame(5, "sendAppend", "file:///x/src/mailstore/imap/appender.ts", [6]),
      frame(6, "writeBuffered", ""),
      frame(7, "(idle)", ""),
      frame(8, "fetchAnswers", "file:///x/src/mailstore/imap/reader.ts", [9]),
      frame(9, "parseFetch", "file:///x/src/mailstore/imap/fetch-parse.ts"),
      frame(10, "main", "file:///x/bin/cli.ts", [11]),
      frame(11, "(garbage collector)", ""),
    ],
    samples: [4, 4, 4, 6, 6, 7, 7, 7, 7, 9, 2, 10, 11],
  };

  test("a native leaf counts for the engine frame above it; idle samples are left out; most first", () => {
    expect(categorize(p)).toEqual([
      { category: "framing responses, copying bodies into batch buffers", samples: 3 },
      { category: "APPEND: sending to the new server", samples: 2 },
      { category: "parsing FETCH responses", samples: 1 },
      { category: "IMAP connection: socket events, dispatch", samples: 1 },
      { category: OTHER, samples: 1 },
      { category: "garbage collection", samples: 1 },
    ]);
  });
});
