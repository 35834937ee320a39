// `automigrate plan reset`: a user's folder plan made again by the next run, after a setting
// that decides it was fixed (a rename rule, maxNameBytes). The plan is otherwise never moved
// (DESIGN.md): a folder that already holds copied messages keeps its plan unless told, since
// a new target means copying it again beside what is there.
import { canonicalUser } from "../address.ts";
import { accountStatesOf } from "../storage/account-states.ts";

export interface PlanEntry {
  folder: string;
  target: string;
  /** Messages already copied into the target. */
  copied: number;
}

export interface PlanReset {
  user: string;
  /** Taken out of the plan: the next run plans them with today's settings. */
  reset: PlanEntry[];
  /** Kept: they hold copied messages (reset with force). */
  kept: PlanEntry[];
  /** Named, but not in the user's plan. */
  unknown: string[];
}

/** Which planned folders a reset takes out and which it keeps (pure). */
export function choosePlanReset(entries: PlanEntry[], named: string[] | undefined, force: boolean): { reset: PlanEntry[]; kept: PlanEntry[]; unknown: string[] } {
  const chosen = named ? entries.filter((e) => named.includes(e.folder)) : entries;
  const unknown = (named ?? []).filter((n) => !entries.some((e) => e.folder === n));
  return { reset: chosen.filter((e) => force || e.copied === 0), kept: chosen.filter((e) => !force && e.copied > 0), unknown };
}

export async function resetPlan(home: string, user: string, opts: { folders?: string[]; force?: boolean } = {}): Promise<PlanReset> {
  const u = canonicalUser(user);
  // never under a running migration of the user (it would write the plan it holds)
  const states = accountStatesOf(home);
  const unlock = await states.lockRun(u);
  let state;
  try {
    state = await states.open(u);
  } catch (e) {
    await unlock();
    throw e;
  }
  try {
    const s = state.data;
    const names = [...new Set([...Object.keys(s.plan), ...Object.keys(s.folders)])];
    const entries = names.map((folder) => ({ folder, target: s.plan[folder]?.target ?? s.folders[folder]?.target ?? "", copied: s.folders[folder]?.messages ?? 0 }));
    const choice = choosePlanReset(entries, opts.folders, Boolean(opts.force));
    if (choice.reset.length) {
      await state.update((d) => {
        for (const e of choice.reset) {
          delete d.plan[e.folder];
          delete d.folders[e.folder];
        }
        d.renamed = d.renamed.filter((r) => !choice.reset.some((e) => e.folder === r.from));
      });
    }
    return { user: u, ...choice };
  } finally {
    state.close();
    await unlock();
  }
}
