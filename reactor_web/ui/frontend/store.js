// The state the page's components share: what they render from (a snapshot read with useSyncExternalStore) and
// what they hand the relay (the tracks they use, what the camera and microphone send). One store per page; the
// provider's relay attaches to it.
import { createContext, useContext, useSyncExternalStore } from "react";
import { declaredTracks, mergeTracks } from "./tracks.js";
import { marksComplete, noteMark, startMarks } from "./timeline.js";

// A component asking for a track the relay has not negotiated re-offers after this pause, so that components
// mounting together (and the model's declared tracks arriving) cost one new offer, not one each.
export const RENEGOTIATE_DEBOUNCE_MS = 50;

// streams: the relay's received tracks by name; live: per video output, decoded frames are arriving now;
// notice: why the relay last ended or cannot connect; declared: the model's tracks (null until a session declared
// them). The production build prerenders the page on the server, where it stays this.
const EMPTY = Object.freeze({ streams: {}, live: {}, notice: "", declared: null });

class ReactorStore {
  constructor() {
    this.snapshot = EMPTY;
    this.listeners = new Set();
    // The provider's relay, while one is attached.
    this.relay = null;
    // What the page sends on each input track (camera, microphone) by name; outlives relay restarts.
    this.inputs = new Map();
    // The tracks the page's components use: "direction:name" → { name, kind, direction, count }.
    this.wanted = new Map();
    // Whether the page's Reflex websocket is up; the heartbeat tells the backend when it is not, so a page that
    // lost its events connection for longer than the grace period is released like one that stopped beating.
    this.eventsConnected = true;
    this.renegotiateTimer = null;
    // The connect being timed (timeline.js), null while none is.
    this.connectMarks = null;
    // useSyncExternalStore wants the same functions on every render.
    this.subscribe = (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    };
    this.getSnapshot = () => this.snapshot;
    this.getServerSnapshot = () => EMPTY;
  }

  publish(patch) {
    this.snapshot = { ...this.snapshot, ...patch };
    this.listeners.forEach((listener) => listener());
  }

  attach(relay) {
    this.relay = relay;
  }

  detach(relay) {
    if (this.relay === relay) this.relay = null;
  }

  // The model's declared tracks arrived (`raw`, as the provider got them): the relay offers them all. A
  // session's declared tracks stay until another session declares others (no churn between sessions).
  declare(raw) {
    const declared = declaredTracks(raw);
    if (!declared || JSON.stringify(declared) === JSON.stringify(this.snapshot.declared)) return;
    this.publish({ declared });
    this.scheduleRenegotiate();
  }

  // The tracks the relay offers now: every declared one, and those the components use.
  desiredTracks() {
    return mergeTracks(this.snapshot.declared, this.wanted.values());
  }

  // A component's claim on a model track (none without a name): the relay negotiates it, now or with a new
  // offer. Returns the release, for an effect's cleanup.
  want(name, kind, direction) {
    if (!name) return undefined;
    const key = `${direction}:${name}`;
    const entry = this.wanted.get(key) || { name, kind, direction, count: 0 };
    entry.count += 1;
    this.wanted.set(key, entry);
    if (entry.count === 1) this.scheduleRenegotiate();
    return () => {
      entry.count -= 1;
      if (entry.count === 0) this.wanted.delete(key);
    };
  }

  scheduleRenegotiate() {
    clearTimeout(this.renegotiateTimer);
    this.renegotiateTimer = setTimeout(() => {
      if (this.relay) this.relay.renegotiate();
    }, RENEGOTIATE_DEBOUNCE_MS);
  }

  // Send MediaStreamTrack `track` (null: nothing) on input `name`.
  setInput(name, track) {
    if (this.inputs.get(name) === track) return;
    this.inputs.set(name, track);
    if (this.relay) this.relay.applyInput(name);
  }

  setEventsConnected(up) {
    this.eventsConnected = up;
  }

  // Time the connect starting now (the main view left "disconnected").
  startConnectMarks() {
    this.connectMarks = startMarks();
  }

  // Moment `key` of the connect being timed happened now; once both are in, the relay reports them.
  noteConnectMark(key) {
    this.connectMarks = noteMark(this.connectMarks, key, Date.now());
    if (!marksComplete(this.connectMarks)) return;
    if (this.relay) this.relay.reportConnect(this.connectMarks);
    this.connectMarks = null;
  }
}

// A component reads the store of its context; the default, used by every component now, is the page's.
const StoreContext = createContext(new ReactorStore());

// The calling component's store (for what it hands the relay).
export function useStore() {
  return useContext(StoreContext);
}

// The calling component's store's snapshot; the component renders again when it changes.
export function useSnapshot() {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
}
