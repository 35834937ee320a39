// User addresses: user@domain, the domain lowercased.
import { inputError } from "./errors.ts";

export function splitUser(user: string): { local: string; domain: string } {
  const at = user.lastIndexOf("@");
  if (at <= 0 || at === user.length - 1) throw inputError(`"${user}" is not a user address (user@domain)`);
  return { local: user.slice(0, at), domain: user.slice(at + 1).toLowerCase() };
}
