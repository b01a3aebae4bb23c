"""reactor-web: Reactor's realtime AI video in a Reflex web app, from Python."""
