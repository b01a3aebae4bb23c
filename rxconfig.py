import logging

import reflex as rx

config = rx.Config(
    app_name="app",
    telemetry_enabled=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="light", accent_color="indigo", radius="medium"))],
    # The dashboard is an app, not a site to be indexed: no sitemap.xml (and no warning that the plugin is on by
    # default).
    disable_plugins=[rx.plugins.SitemapPlugin],
)


class _BunRunsViteFilter(logging.Filter):
    """Drops Reflex's "Node.js is out of date" warning: below Node 22.22, Reflex runs Vite under bun's runtime
    (``bun --bun``) instead of Node, which works (scripts/setup.sh installs bun; docs/compatibility.md), so the
    warning's advice to upgrade is noise on the first screen. Kept where Reflex has no bun to fall back on; every
    other warning passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        from reflex.utils import path_ops

        return "of Node.js is out of date" not in record.getMessage() or path_ops.get_bun_path() is None


logging.getLogger("reflex.utils.js_runtimes").addFilter(_BunRunsViteFilter())
