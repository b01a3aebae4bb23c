import reflex as rx

config = rx.Config(
    app_name="app",
    telemetry_enabled=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="light", accent_color="indigo", radius="medium"))],
)
