// The components' inline styles (the page brings no stylesheet of ours).

// Text over a video's place: the status in place of the model's video, the camera's state in place of its preview.
export const overlayStyle = {
  position: "absolute",
  inset: 0,
  display: "flex",
  alignItems: "center",
  justifyContent: "center",
  color: "#ddd",
  fontFamily: "monospace",
  fontSize: "1rem",
  pointerEvents: "none",
};

export const noticeStyle = { fontSize: "0.8rem", color: "#f99", marginTop: "0.5em", maxWidth: "90%", textAlign: "center" };

export const audioNoticeStyle = {
  position: "absolute",
  left: "0.5em",
  top: "0.5em",
  fontSize: "0.75rem",
  color: "#fdd",
  background: "rgba(0, 0, 0, 0.6)",
  padding: "0.2em 0.5em",
  borderRadius: "4px",
  pointerEvents: "none",
};

export const unmuteStyle = {
  position: "absolute",
  right: "0.5em",
  bottom: "0.5em",
  padding: "0.3em 0.8em",
  borderRadius: "4px",
  border: "none",
  background: "rgba(0, 0, 0, 0.7)",
  color: "#fff",
  cursor: "pointer",
};
