// Where the tablet is: a source of GPS fixes for the task screen.
//
// `browserGeo` watches the WebView's location service and also takes fixes
// from `window` CustomEvents named `fieldloop:fix` (detail `{lat, lon,
// accuracy}`, optional `t`), so tests and a future native location plugin can
// feed positions without the browser API.

import type { Fix } from "../../bindings/Fix";

/** Why the location service gives no positions. */
export type GeoUnavailable = "unsupported" | "denied" | "unavailable" | "timeout";

export interface GeoSource {
  /**
   * Starts delivering fixes. `onUnavailable` is called when the platform has no
   * location service or refuses it (the inspector goes on without positions).
   * Answers the function that stops it.
   */
  start(onFix: (fix: Fix) => void, onUnavailable: (reason: string) => void): () => void;
}

/** The name of the window event that injects a fix. */
export const FIX_EVENT = "fieldloop:fix";

export interface BrowserGeoOptions {
  /** Where `fieldloop:fix` events arrive; `window` by default. */
  target?: EventTarget;
  /** The location service; `navigator.geolocation` by default (`null`: none). */
  geolocation?: Geolocation | null;
  /** Time of injected fixes without their own `t`. */
  now?: () => number;
}

export function browserGeo(options: BrowserGeoOptions = {}): GeoSource {
  return {
    start(onFix, onUnavailable) {
      const target = options.target ?? window;
      const now = options.now ?? Date.now;
      const geolocation =
        options.geolocation !== undefined ? options.geolocation : (globalThis.navigator?.geolocation ?? null);

      const onEvent = (event: Event) => {
        const fix = fixFromDetail((event as CustomEvent<unknown>).detail, now);
        if (fix !== null) onFix(fix);
      };
      target.addEventListener(FIX_EVENT, onEvent);

      let watch: number | null = null;
      if (geolocation === null || typeof geolocation.watchPosition !== "function") {
        onUnavailable("unsupported");
      } else {
        try {
          watch = geolocation.watchPosition(
            (position) => {
              const fix = {
                t: Number.isFinite(position.timestamp) ? position.timestamp : now(),
                lat: position.coords.latitude,
                lon: position.coords.longitude,
                accuracy: position.coords.accuracy,
              };
              if (isValidFix(fix)) onFix(fix);
            },
            (error) => onUnavailable(reasonOf(error)),
            { enableHighAccuracy: true, maximumAge: 5_000, timeout: 60_000 },
          );
        } catch {
          onUnavailable("unsupported");
        }
      }

      return () => {
        target.removeEventListener(FIX_EVENT, onEvent);
        if (watch !== null) geolocation?.clearWatch(watch);
        watch = null;
      };
    },
  };
}

/** A fix from an injected event's detail, or `null` when it is not one. */
export function fixFromDetail(detail: unknown, now: () => number): Fix | null {
  if (typeof detail !== "object" || detail === null) return null;
  const d = detail as Record<string, unknown>;
  const fix = {
    t: typeof d.t === "number" ? d.t : now(),
    lat: Number(d.lat),
    lon: Number(d.lon),
    accuracy: d.accuracy === undefined ? 0 : Number(d.accuracy),
  };
  return isValidFix(fix) ? fix : null;
}

export function isValidFix(fix: Fix): boolean {
  return (
    Number.isFinite(fix.t) &&
    Number.isFinite(fix.lat) &&
    Number.isFinite(fix.lon) &&
    Number.isFinite(fix.accuracy) &&
    Math.abs(fix.lat) <= 90 &&
    Math.abs(fix.lon) <= 180 &&
    fix.accuracy >= 0
  );
}

function reasonOf(error: GeolocationPositionError): GeoUnavailable {
  switch (error.code) {
    case 1:
      return "denied";
    case 3:
      return "timeout";
    default:
      return "unavailable";
  }
}
