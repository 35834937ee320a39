// The first-login socket's protocol, spoken by the checkpassword helper and the Lua passdb:
// one netstring per request and per reply, on a connection that may carry several.
//   request  "check\0<user>\0<password>\0<remote address>"   a first login (password to check)
//            "lookup\0<user>\0\0<remote address>"            a master-user login (no password)
//   <remote address> is the client's "ip" or "ip port" (empty when unknown)
//   reply    "OK" | "NO <reason>" | "TEMP <reason>"
// NO is an authentication failure; TEMP is "try again later" (never "wrong password"). Pure.
import { isIP } from "node:net";
import { netstring, oneLine } from "../netstring.ts";
import type { FirstLogin } from "./first-login.ts";

export type AuthRequest = { kind: "check"; user: string; password: string; address: string; port?: number } | { kind: "lookup"; user: string; address: string; port?: number };

export function parseAuthRequest(payload: string): AuthRequest | { error: string } {
  const f = payload.split("\0");
  const [kind, user = "", password = "", address = ""] = f;
  if (f.length !== 4) return { error: `expected 4 NUL-separated fields, got ${f.length}` };
  if (!user) return { error: "no user" };
  if (address.length > 64) return { error: "remote address longer than 64 characters" };
  const [ip = "", portText] = address.split(" ");
  if (ip && isIP(ip) === 0) return { error: `remote address ${JSON.stringify(oneLine(ip).slice(0, 64))} is not an IP address` };
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) return { error: "remote port is not a number" };
  const port = portText === undefined ? undefined : Number(portText);
  if (kind === "check") return { kind, user, password, address: ip, ...(port !== undefined ? { port } : {}) };
  if (kind === "lookup") return { kind, user, address: ip, ...(port !== undefined ? { port } : {}) };
  return { error: `unknown request "${oneLine(kind ?? "").slice(0, 20)}" (check or lookup)` };
}

export function encodeAuthRequest(r: AuthRequest): Buffer {
  return netstring([r.kind, r.user, r.kind === "check" ? r.password : "", r.port !== undefined && r.address ? `${r.address} ${r.port}` : r.address].join("\0"));
}

export function encodeAuthReply(r: FirstLogin): Buffer {
  if (r.outcome === "accept") return netstring("OK");
  return netstring(`${r.outcome === "reject" ? "NO" : "TEMP"} ${oneLine(r.reason)}`);
}

export type AuthReply = { answer: "OK" } | { answer: "NO" | "TEMP"; reason: string };

export function parseAuthReply(payload: string): AuthReply | { error: string } {
  if (payload === "OK") return { answer: "OK" };
  const m = /^(NO|TEMP) (.*)$/s.exec(payload);
  if (!m) return { error: `unexpected reply "${oneLine(payload).slice(0, 40)}"` };
  return { answer: m[1] as "NO" | "TEMP", reason: m[2]! };
}
