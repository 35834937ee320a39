// The CLI loads only the command group a command belongs to (bin/cli.ts COMMAND_GROUPS): the
// table must name exactly the commands each group adds, or a command would be missing when
// run on its own (or listed under the wrong group).
import { describe, expect, test } from "bun:test";
import { Command } from "commander";
import { buildProgram, commandOf, COMMAND_GROUPS } from "../../bin/cli.ts";

describe("command groups", () => {
  test("each group adds exactly the commands the table names, and no name is in two groups", async () => {
    const seen = new Set<string>();
    for (const g of COMMAND_GROUPS) {
      const program = new Command("automigrate");
      (await g.load())(program);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...g.names].sort());
      for (const n of g.names) {
        expect({ n, twice: seen.has(n) }).toEqual({ n, twice: false });
        seen.add(n);
      }
    }
  });

  test("a command's program holds its group only; help and unknown words get every group", async () => {
    const names = (p: Command) => p.commands.map((c) => c.name());
    expect(names(await buildProgram(["migrate", "a@b.example", "--json"]))).toEqual(["migrate", "verify"]);
    expect(names(await buildProgram(["--home", "/x", "resume"]))).toEqual(["pause", "resume", "retry", "sweep", "cancel"]);
    const all = COMMAND_GROUPS.flatMap((g) => g.names);
    for (const argv of [[], ["--help"], ["help", "migrate"], ["migrat"], ["--home=/x"]]) expect({ argv, names: names(await buildProgram(argv)) }).toEqual({ argv, names: [...all] });
  });

  test("the command is the first word that is not a global option", () => {
    expect(commandOf(["migrate", "x"])).toBe("migrate");
    expect(commandOf(["--home", "migrate", "status"])).toBe("status");
    expect(commandOf(["--home=/h", "domain", "list"])).toBe("domain");
    expect(commandOf(["-h"])).toBeUndefined();
    expect(commandOf([])).toBeUndefined();
  });
});
