from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from clientwise.core.memo import forget


class AccountsConfig(AppConfig):
    name = "clientwise.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Models load once the app registry is ready.
        from clientwise.accounts.models import Team
        from clientwise.accounts.services import TEAM_TREE

        def team_changed(**kwargs) -> None:  # a team saved or deleted in this request: its memoized tree is stale
            forget(TEAM_TREE)

        post_save.connect(team_changed, sender=Team, weak=False, dispatch_uid="accounts.team_tree")
        post_delete.connect(team_changed, sender=Team, weak=False, dispatch_uid="accounts.team_tree.delete")
