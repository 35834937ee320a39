// Esc on a form (Configure, Classes), one behaviour for both.
import type { Console } from "../console.ts";

/** Esc on a form (Configure, Classes): with unsaved edits the first Esc warns, a second one drops them and leaves. */
export function formEscape(c: Console, domain: string, modified: () => boolean) {
  const { say, pop } = c;
  let armed = false;
  return {
    /** An edit since the warning: Esc warns again. */
    disarm: () => {
      armed = false;
    },
    escape: () => {
      if (modified() && !armed) {
        armed = true;
        return say(`${domain}: unsaved changes — Esc again discards them, s saves`, true);
      }
      const dropped = modified();
      pop();
      say(dropped ? `${domain}: changes discarded` : "");
    },
  };
}
