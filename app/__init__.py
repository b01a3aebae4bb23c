"""The reactor-web dashboard, a Reflex app that uses the reactor_web.ui library like any other app."""
