"""Sales permissions, declared here and granted to roles at import time (core.permissions.grant).

Record-level scope is the customers' one: an opportunity, activity or key account is visible when its customer
is (customers.queries.visible_customers); a lead, which has no customer yet, by its owner and team.
"""

from clientwise.core import permissions as perms

# Read leads, opportunities, activities, forecasts and key accounts in one's scope.
VIEW_SALES = perms.grant("sales.view", [perms.Role.MANAGER, perms.Role.SALES_REP, perms.Role.ANALYST])
# Create and change leads, opportunities, activities, notes, key-account facts.
CHANGE_SALES = perms.grant("sales.change", [perms.Role.MANAGER, perms.Role.SALES_REP])
# Pipelines, assignment and scoring rules, web forms, quotas, ownership transfer.
MANAGE_SALES = perms.grant("sales.manage", [perms.Role.MANAGER])
