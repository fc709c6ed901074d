"""Privacy permissions, declared here and granted at import time (core.permissions.grant).

Handling data-subject requests shows and exports every piece of personal data held about a person and can erase
it for good: administrators only (`grant` gives every permission to administrators). Which customers a holder may
act on is still the customers' scope (customers.queries.visible_customers).
"""

from clientwise.core import permissions as perms

MANAGE_PRIVACY = perms.grant("privacy.manage", [])
