// The hooks the components share: their common opening (the model track they use), telling Python of a state
// change, what they send on an input, the camera or microphone they open, and props that are JSON data.
import { useEffect, useEffectEvent, useMemo, useState } from "react";
import { deviceFailure } from "./media.js";
import { useSnapshot, useStore } from "./store.js";
import { trackProblem } from "./tracks.js";

// `value` (JSON data, such as a prop from Python), as an object that stays the same while its JSON text does:
// Reflex renders a prop like `video_constraints` as a new object on every render, and an effect depending on it
// must not run again for that.
export function useJsonMemo(value) {
  const key = JSON.stringify(value ?? null);
  return useMemo(() => JSON.parse(key), [key]);
}

// The components' opening: claim model track `name` (a `kind` `direction` track; none without a name) for as
// long as the component uses it, so that the relay negotiates it. Returns `problem`, why the model cannot give
// it (trackProblem, null when it can), and `stream`, the relay's received MediaStreamTrack of that name (null
// while there is none).
export function useModelTrack(name, kind, direction) {
  const store = useStore();
  const { declared, streams } = useSnapshot();
  useEffect(() => store.want(name, kind, direction), [store, name, kind, direction]);
  return { problem: trackProblem(declared, name, kind, direction), stream: (name && streams[name]) || null };
}

// Call `callback` (an event handler from Python, or undefined) with `value` whenever it changes.
export function useNotify(callback, value) {
  const notify = useEffectEvent((changed) => {
    if (callback) callback(changed);
  });
  useEffect(() => notify(value), [value]);
}

// Send MediaStreamTrack `track` (null: nothing) on model input `name` (none without a name) while mounted.
export function useInput(name, track) {
  const store = useStore();
  useEffect(() => {
    if (!name) return undefined;
    store.setInput(name, track);
    return () => store.setInput(name, null);
  }, [store, name, track]);
}

const stopTracks = (stream) => stream.getTracks().forEach((t) => t.stop());

// The user's devices opened with getUserMedia(`request`) (constraints: keep the object the same, see
// useJsonMemo; null: nothing is opened, and the state is `idle`). Returns { state, stream }: state "starting"
// until the browser answers, then "on" (with the MediaStream), or "denied" / "error" (with `error`). The devices
// are really stopped when the request changes or the component unmounts (unlike the JS SDK's WebcamStream).
export function useUserMedia(request, idle) {
  // The browser's answer to one request (an answer to an older one is not this request's).
  const [answer, setAnswer] = useState({ request: null, state: idle, stream: null });
  useEffect(() => {
    if (!request) return undefined;
    let cancelled = false;
    let opened = null;
    navigator.mediaDevices
      .getUserMedia(request)
      .then((stream) => {
        if (cancelled) {
          stopTracks(stream);
          return;
        }
        opened = stream;
        setAnswer({ request, state: "on", stream });
      })
      .catch((err) => {
        if (!cancelled) setAnswer({ request, stream: null, ...deviceFailure(err) });
      });
    return () => {
      cancelled = true;
      if (opened) stopTracks(opened);
    };
  }, [request]);
  if (!request) return { state: idle, stream: null };
  return answer.request === request ? answer : { state: "starting", stream: null };
}
