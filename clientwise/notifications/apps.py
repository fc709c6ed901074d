from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Notifications: the in-app notification centre (bell, list, mark read) and e-mail for users who opt in.

    A low-layer app: it imports core and accounts only, so every domain app (customers, sales, service, dataio,
    analytics, reports) may call `clientwise.notifications.services.notify` (docs/notifications.md)."""

    name = "clientwise.notifications"
    label = "notifications"
    verbose_name = "Notifications"
