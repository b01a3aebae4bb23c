// Which model tracks the page's relay carries, and whether a component can use the one it names (pure).
// A track is { name, kind: "video" | "audio", direction: "recvonly" (a model output) | "sendonly" (an input) }.

// The components' default track names (the JS SDK's defaults, and the usual audio name).
export const DEFAULT_VIDEO_TRACK = "main_video";
export const DEFAULT_CAMERA_TRACK = "webcam";
export const DEFAULT_MICROPHONE_TRACK = "microphone";

const role = (direction) => (direction === "recvonly" ? "output" : "input");

// Why a component cannot use model track `name` as a `kind` `direction` track: a sentence for the page, or
// null when it can (or when nothing is declared yet, or no name is given).
export function trackProblem(declared, name, kind, direction) {
  if (!declared || !name) return null;
  const found = declared.find((d) => d.name === name);
  const names = declared.map((d) => `"${d.name}"`).join(", ") || "none";
  if (!found) return `The model has no track "${name}" (it declares ${names}).`;
  if (found.kind !== kind || found.direction !== direction) {
    return `The model's "${name}" is a ${found.kind} ${role(found.direction)}, not a ${kind} ${role(direction)}.`;
  }
  return null;
}

// The model's declared tracks as the provider received them, keeping only entries with a name (null: not an
// array, nothing declared).
export function declaredTracks(raw) {
  if (!Array.isArray(raw)) return null;
  return raw.filter((t) => t && typeof t.name === "string");
}

// The tracks of `lists` (iterables of tracks), each name once: the first list naming it gives its kind and
// direction. The relay offers mergeTracks(declared, wanted, previous): all the model declares, then those the
// components use that it does not declare, then those the last connection carried (a component that unmounted
// may mount again; dropping its track would cost another offer then).
export function mergeTracks(...lists) {
  const out = new Map();
  for (const list of lists) {
    for (const t of list || []) {
      if (!out.has(t.name)) out.set(t.name, { name: t.name, kind: t.kind, direction: t.direction });
    }
  }
  return [...out.values()];
}

// Whether a track the page wants now is missing from `negotiated` (name → { kind, direction }), or is
// negotiated with another kind or direction: a new offer must carry it.
export function needsOffer(desired, negotiated) {
  return desired.some((d) => {
    const t = negotiated.get(d.name);
    return !t || t.kind !== d.kind || t.direction !== d.direction;
  });
}
