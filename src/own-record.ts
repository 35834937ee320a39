// Records whose keys come from outside — domain and class names from settings, folder names
// from an old server — as objects without a prototype: `classes["toString"]` or
// `folders["constructor"]` is then undefined or the entry of that name, never something
// inherited, and a folder named "__proto__" is an ordinary key (zod's record drops that key
// in silence: here it is read through a Map, kept, and written back like any other).
import { z } from "zod";

/** A plain object without a prototype holding `entries`. */
export function ownObject<V>(entries: Iterable<[string, V]>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** z.record whose output has no prototype (keys validated by `key`, values by `value`). */
export function ownRecord<K extends z.ZodType<string, string>, V extends z.ZodType>(key: K, value: V) {
  return z.record(key, value).transform((r) => ownObject(Object.entries(r)) as Record<z.output<K>, z.output<V>>);
}

/** Like ownRecord, and a "__proto__" key survives reading (for names an old server chose). */
export function anyKeyRecord<V extends z.ZodType>(value: V) {
  return z
    .preprocess((v) => (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Map) ? new Map(Object.entries(v)) : v), z.map(z.string(), value))
    .transform((m) => ownObject(m.entries()) as Record<string, z.output<V>>);
}
