// Which tracks the relay negotiates, and what a component says of a track the model does not have.
import { describe, expect, test } from "bun:test";
import { declaredTracks, mergeTracks, needsOffer, trackProblem } from "../../reactor_web/ui/frontend/tracks.js";

const DECLARED = [
  { name: "main_video", kind: "video", direction: "recvonly" },
  { name: "main_audio", kind: "audio", direction: "recvonly" },
  { name: "webcam", kind: "video", direction: "sendonly" },
];

describe("trackProblem", () => {
  test("a declared track of the right kind and direction has none", () => {
    expect(trackProblem(DECLARED, "main_video", "video", "recvonly")).toBeNull();
    expect(trackProblem(DECLARED, "webcam", "video", "sendonly")).toBeNull();
  });

  test("nothing declared yet, or no name: no problem yet", () => {
    expect(trackProblem(null, "anything", "video", "recvonly")).toBeNull();
    expect(trackProblem(DECLARED, undefined, "audio", "recvonly")).toBeNull();
  });

  test("an unknown name lists what the model declares", () => {
    expect(trackProblem(DECLARED, "depth", "video", "recvonly")).toBe(
      'The model has no track "depth" (it declares "main_video", "main_audio", "webcam").',
    );
    expect(trackProblem([], "depth", "video", "recvonly")).toBe('The model has no track "depth" (it declares none).');
  });

  test("the wrong kind or direction says what the track is", () => {
    expect(trackProblem(DECLARED, "main_audio", "video", "recvonly")).toBe(
      'The model\'s "main_audio" is a audio output, not a video output.',
    );
    expect(trackProblem(DECLARED, "main_video", "video", "sendonly")).toBe(
      'The model\'s "main_video" is a video output, not a video input.',
    );
  });
});

describe("declaredTracks", () => {
  test("keeps the entries with a name; not an array is nothing declared", () => {
    expect(declaredTracks([DECLARED[0], null, { kind: "video" }, { name: 3 }, DECLARED[1]])).toEqual([DECLARED[0], DECLARED[1]]);
    expect(declaredTracks(null)).toBeNull();
    expect(declaredTracks({ name: "x" })).toBeNull();
  });
});

describe("mergeTracks", () => {
  test("each name once, the first list naming it giving its kind and direction", () => {
    const wanted = [
      { name: "main_video", kind: "audio", direction: "sendonly", count: 2 },
      { name: "extra", kind: "video", direction: "recvonly", count: 1 },
    ];
    const previous = [{ name: "old", kind: "audio", direction: "sendonly", transceiver: {} }, { ...DECLARED[2], transceiver: {} }];
    expect(mergeTracks(DECLARED, wanted, previous)).toEqual([
      ...DECLARED,
      { name: "extra", kind: "video", direction: "recvonly" },
      { name: "old", kind: "audio", direction: "sendonly" },
    ]);
  });

  test("takes any iterables, and no list at all", () => {
    expect(mergeTracks(null, new Map([["k", DECLARED[0]]]).values())).toEqual([DECLARED[0]]);
    expect(mergeTracks()).toEqual([]);
  });
});

describe("needsOffer", () => {
  const negotiated = new Map(DECLARED.map((t) => [t.name, { ...t, transceiver: {} }]));

  test("not while every wanted track is negotiated as wanted", () => {
    expect(needsOffer(DECLARED.slice(0, 2), negotiated)).toBe(false);
    expect(needsOffer([], negotiated)).toBe(false);
  });

  test("for a missing track, or one negotiated with another kind or direction", () => {
    expect(needsOffer([{ name: "microphone", kind: "audio", direction: "sendonly" }], negotiated)).toBe(true);
    expect(needsOffer([{ name: "webcam", kind: "audio", direction: "sendonly" }], negotiated)).toBe(true);
    expect(needsOffer([{ name: "webcam", kind: "video", direction: "recvonly" }], negotiated)).toBe(true);
  });
});
