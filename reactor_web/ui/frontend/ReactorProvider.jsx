// The JS SDK's ReactorProvider: owns the tab's relay peer (relay.js); mount it once per page.
import { useEffect, useEffectEvent } from "react";
import { useJsonMemo } from "./hooks.js";
import { Relay } from "./relay.js";
import { useStore } from "./store.js";

// `answer`: the backend's reply to `onOffer` (ReactorState.relay_answer). `tracks`: the model's declared tracks
// ([{ name, kind, direction }], from its capabilities; null before any). `eventsConnected`: the page's Reflex
// websocket is up (false: the heartbeat says so).
export function ReactorProvider({ answer, onOffer, iceServers, iceTransportPolicy, eventsConnected, tracks, children }) {
  const store = useStore();
  const sendOffer = useEffectEvent((offer) => {
    if (onOffer) onOffer(offer);
  });
  const declared = useJsonMemo(tracks);
  const servers = useJsonMemo(iceServers || []);
  useEffect(() => store.setEventsConnected(eventsConnected !== false), [store, eventsConnected]);
  useEffect(() => store.declare(declared), [store, declared]);
  useEffect(() => {
    const relay = new Relay(store, { iceServers: servers, iceTransportPolicy, sendOffer: (offer) => sendOffer(offer) });
    store.attach(relay);
    return () => {
      // React StrictMode mounts twice in dev: the first peer must be closed here.
      relay.close();
      store.detach(relay);
    };
  }, [store, servers, iceTransportPolicy]);
  useEffect(() => {
    if (store.relay) store.relay.applyAnswer(answer);
  }, [store, answer]);
  return <>{children}</>;
}
