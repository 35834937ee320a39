// Cluster mode splits the settings in two: what belongs to one node (where its database is,
// its name, the logs it tails, its sockets) stays in that node's config.json; everything
// else is shared through the database. These plain functions make and join the two halves.

/** The settings that are per node, as dotted paths of config.json. */
export const NODE_KEYS = [
  "storage",
  "node",
  "logins",
  "metrics",
  "routing.socket",
  "routing.socketMode",
  "routing.socketGroup",
  "firstLogin.socket",
  "firstLogin.socketMode",
  "firstLogin.socketGroup",
] as const;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function get(obj: Json, path: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = obj;
  for (const k of path) {
    if (!isObject(cur) || !Object.hasOwn(cur, k)) return { found: false };
    cur = cur[k];
  }
  return { found: true, value: cur };
}

function set(obj: Json, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[path[path.length - 1]!] = structuredClone(value);
}

function remove(obj: Json, path: string[]): void {
  const parent = get(obj, path.slice(0, -1));
  if (parent.found && isObject(parent.value)) delete parent.value[path[path.length - 1]!];
}

/** This node's half of a settings document (the per-node keys that are set, and the version). */
export function nodePart(config: Json): Json {
  const out: Json = {};
  if (config.version !== undefined) out.version = config.version;
  for (const key of NODE_KEYS) {
    const v = get(config, key.split("."));
    if (v.found && v.value !== undefined) set(out, key.split("."), v.value);
  }
  return out;
}

/** The shared half: everything but the per-node keys (a parent left empty is dropped). */
export function sharedPart(config: Json): Json {
  const out = structuredClone(config);
  for (const key of NODE_KEYS) {
    const path = key.split(".");
    remove(out, path);
    const parent = get(out, path.slice(0, -1));
    if (path.length > 1 && parent.found && isObject(parent.value) && Object.keys(parent.value).length === 0) remove(out, path.slice(0, -1));
  }
  return out;
}

/** Both halves as one settings document; a node's key wins over the same key in the shared half. */
export function joinParts(node: Json, shared: Json): Json {
  const out = structuredClone(shared);
  for (const key of NODE_KEYS) {
    const v = get(node, key.split("."));
    if (v.found) set(out, key.split("."), v.value);
  }
  if (node.version !== undefined) out.version = node.version;
  return out;
}
