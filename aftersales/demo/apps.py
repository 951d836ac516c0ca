from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo loader (the top layer: it calls every app's own demo)."""

    name = "aftersales.demo"
    label = "demo"
