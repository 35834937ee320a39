// The throwaway PostgreSQL, shared with the benchmarks (bench/support/postgres.ts).
export * from "../../bench/support/postgres.ts";
