// Where a CPU profile's samples go, by what the engine is doing: each sample's stack is read
// from its leaf up, and the first frame a rule matches names the sample's category (so a
// native `writeBuffered` under the appender counts as writing to the new server). Pure: a
// profile (Chrome .cpuprofile, as `bun --cpu-prof` writes it) in, counts out.

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
}

interface Rule {
  category: string;
  url?: RegExp;
  fn?: RegExp;
}

/** In order: the first rule a frame matches wins; frames are tried from the leaf up. */
export const CATEGORIES: Rule[] = [
  { category: "garbage collection", fn: /^\(garbage collector\)$/ },
  { category: "parsing FETCH responses", url: /\/src\/mailstore\/imap\/fetch-parse\.ts$/ },
  { category: "framing responses, copying bodies into batch buffers", url: /\/src\/mailstore\/imap\/framer\.ts$/ },
  { category: "read-back of stored sizes and 8-bit headers", url: /\/src\/migrate\/stored-check\.ts$/, fn: /^(noteSent|checkSent|headerDigest)$/ },
  { category: "state writes (JSON stringify, write, fsync, rename)", url: /\/src\/store\/|\/node_modules\/(lowdb|steno)\// },
  { category: "logging", url: /\/daemon\/logger\.ts$|\/node_modules\/pino\// },
  { category: "APPEND: sending to the new server", url: /\/src\/mailstore\/imap\/(appender|wire)\.ts$/ },
  { category: "reading: commands and FETCH answers", url: /\/src\/mailstore\/imap\/reader\.ts$/ },
  { category: "IMAP connection: socket events, dispatch", url: /\/src\/mailstore\/imap\/session\.ts$/ },
  { category: "listing and creating folders", url: /\/src\/mailstore\/imap\/(folder-store|folder-list|list-parse)\.ts$|\/node_modules\/imapflow\// },
  { category: "copy engine: batches, plan, intents", url: /\/src\/migrate\// },
  { category: "Bun's socket and stream layer", url: /^node:|^internal:/ },
];
export const OTHER = "start-up, settings, modules and the rest";

/** The samples of each category (idle samples left out), most first. */
export function categorize(p: CpuProfile, rules: Rule[] = CATEGORIES): { category: string; samples: number }[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string | null>();
  const categoryOf = (id: number): string | null => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id);
    let found: string | null = OTHER;
    if (n && /^\(idle\)$/.test(n.callFrame.functionName)) found = null;
    else if (n) {
      const rule = rules.find((r) => (r.url?.test(n.callFrame.url) ?? false) || (r.fn?.test(n.callFrame.functionName) ?? false));
      if (rule) found = rule.category;
      else {
        const up = parent.get(id);
        found = up === undefined ? OTHER : categoryOf(up);
      }
    }
    memo.set(id, found);
    return found;
  };
  const counts = new Map<string, number>();
  for (const s of p.samples) {
    const c = categoryOf(s);
    if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts].map(([category, samples]) => ({ category, samples })).sort((a, b) => b.samples - a.samples);
}
