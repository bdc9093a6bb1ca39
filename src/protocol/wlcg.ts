// The WLCG Bearer Token Discovery rules (WLCG Common JWT Profiles, "Bearer
// Token Discovery"): where HTCondor, XRootD, davix and ROOT look for a
// token file. Pure.
import type { Environment } from '../types.ts';

/**
 * The file the discovery rules read: `$BEARER_TOKEN_FILE` if set, else
 * `$XDG_RUNTIME_DIR/bt_u<uid>`, else `/tmp/bt_u<uid>`.
 */
export function bearerTokenFile(env: Environment, uid: number): string {
  const named = env.BEARER_TOKEN_FILE;
  if (named !== undefined && named.trim() !== '') return named;
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime.trim() !== '') return `${runtime.replace(/\/+$/, '')}/bt_u${uid}`;
  return `/tmp/bt_u${uid}`;
}
