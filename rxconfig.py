import reflex as rx

config = rx.Config(
    app_name="reactor_web",
    telemetry_enabled=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
)
