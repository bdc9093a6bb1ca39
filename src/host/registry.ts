// One actor per host in this process: made on first use, found again by the
// server and store it serves, and by a caller's cheap key for the fast path.
import type { Inspector } from '../protocol/inspection.ts';
import type { HostSettings } from '../servers/backend.ts';
import { HostActor } from './host-actor.ts';

const actors = new Map<string, HostActor>();

/** The key of a host's actor: the server's store key and the store. */
export function actorKey(settings: Pick<HostSettings, 'backend' | 'store'>): string {
  return `${settings.backend.key} ${settings.store.id}`;
}

/**
 * The host's actor in this process, made on first use; `inspect` is added to
 * it (once). A call with other settings than the actor has makes them take
 * effect between runs, or throws `settings_conflict` during one.
 */
export function hostActorFor(settings: HostSettings, inspect?: Inspector, options: { watchOnly?: boolean } = {}): HostActor {
  const key = actorKey(settings);
  let actor = actors.get(key);
  if (!actor) {
    actor = new HostActor(settings, inspect, (other) => hostActorFor(other));
    actors.set(key, actor);
  } else {
    if (!options.watchOnly) actor.adopt(settings); // Watching (authState) changes nothing about how the server is reached.
    if (inspect) actor.addInspector(inspect);
  }
  return actor;
}

/** Host actors by a caller's cheap key (server options as given, not normalised), for `authenticate()`'s fast path. */
const byCallerKey = new Map<string, HostActor>();

/** The actor remembered for a caller's key, if any. */
export function rememberedActor(key: string): HostActor | undefined {
  return byCallerKey.get(key);
}

/** Remember `actor` for a caller's key. */
export function rememberActor(key: string, actor: HostActor): void {
  byCallerKey.set(key, actor);
}

/** Stop and forget every host actor (tests, long-running apps that switch accounts). */
export function resetHostActors(): void {
  byCallerKey.clear();
  for (const actor of actors.values()) actor.stop();
  actors.clear();
}
