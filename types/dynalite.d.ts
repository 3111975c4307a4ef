/**
 * Minimal typings for `dynalite` (it ships none): only what the local runtime and tests use.
 * https://github.com/architect/dynalite#api
 */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  export interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    /** How long a new table stays CREATING (default 500 ms). */
    createTableMs?: number;
    /** How long a deleted table stays DELETING (default 500 ms). */
    deleteTableMs?: number;
    /** How long an updated table stays UPDATING (default 500 ms). */
    updateTableMs?: number;
  }

  /** Creates (does not start) a DynamoDB-compatible HTTP server; call `listen` on it. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
