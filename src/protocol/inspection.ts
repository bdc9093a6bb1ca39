// The Stately inspector sees every root and child actor of a login, but never
// a secret: every inspection event passes this sanitiser first.
import type { InspectionEvent, Observer } from 'xstate';
import { redact } from '../errors.ts';

/**
 * What the `inspect` option takes: an xstate inspection observer or function
 * (e.g. `@statelyai/inspect`'s `inspector.inspect`). It receives xstate's
 * `InspectionEvent`s; the type names none of xstate's, so the root entry
 * type-checks without xstate's declarations.
 */
export type Inspector = {
  /** Receives each inspection event. */
  next?(event: never): void;
} | ((event: never) => void);

type Snapshotish = { status?: unknown; value?: unknown; context?: unknown; output?: unknown; error?: unknown; tags?: unknown };

function sanitizeSnapshot(snapshot: unknown): unknown {
  if (snapshot === null || typeof snapshot !== 'object') return snapshot;
  const s = snapshot as Snapshotish;
  const error = s.error instanceof Error ? { name: s.error.name, message: s.error.message, ...(redact({ ...s.error }) as object) } : redact(s.error);
  // A plain copy: the machine, children and history are left out; context and output lose their secrets.
  return { status: s.status, value: s.value, context: redact(s.context), output: redact(s.output), error, tags: s.tags instanceof Set ? [...s.tags] : s.tags };
}

const safeRefs = new WeakMap<object, object>();

/**
 * The actor reference an inspector gets: the real one, except that its
 * snapshot is the sanitised copy (no context secrets, no actor input or
 * output secrets, no children). `@statelyai/inspect` builds its frames from
 * `actorRef.getSnapshot()` later, on the live actor, so cleaning the event
 * alone would not reach them.
 */
export function safeActorRef<T>(ref: T): T {
  if (ref === null || typeof ref !== 'object') return ref;
  let safe = safeRefs.get(ref);
  if (!safe) {
    safe = new Proxy(ref, {
      get(target, property) {
        if (property === 'getSnapshot' || property === 'getPersistedSnapshot') {
          return () => sanitizeSnapshot((target as unknown as { getSnapshot(): unknown }).getSnapshot());
        }
        const value: unknown = Reflect.get(target, property, target);
        if (property === '_parent') return safeActorRef(value);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    safeRefs.set(ref, safe);
  }
  return safe as T;
}

/** A copy of an inspection event (xstate's `InspectionEvent`) without secrets (tokens, codes, verifiers, device codes) in events, snapshots, actor references or action parameters. */
export function sanitizeInspectionEvent<T extends {
  /** The inspection event's type, e.g. `@xstate.snapshot`. */
  type: string;
}>(inspectionEvent: T): T {
  const event = inspectionEvent as unknown as InspectionEvent;
  const copy: Record<string, unknown> = { ...event, actorRef: safeActorRef(event.actorRef) };
  if ('sourceRef' in event && event.sourceRef) copy.sourceRef = safeActorRef(event.sourceRef);
  if ('event' in event) copy.event = redact(event.event);
  if ('snapshot' in event) copy.snapshot = sanitizeSnapshot(event.snapshot);
  if ('action' in event && event.action) copy.action = { ...event.action, params: redact((event.action as { params?: unknown }).params) };
  return copy as unknown as T;
}

/** Wrap an inspector so that it only ever receives sanitised events. */
export function sanitizingInspector(inspector: Inspector): (event: { type: string }) => void {
  const target = inspector as Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  const next = typeof target === 'function' ? target : (event: InspectionEvent) => target.next?.(event);
  return (event) => {
    try {
      next(sanitizeInspectionEvent(event as InspectionEvent));
    } catch {
      // An inspector that throws must not break the login.
    }
  };
}
