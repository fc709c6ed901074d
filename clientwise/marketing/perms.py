"""Marketing permissions, declared here and granted to roles at import time (core.permissions.grant).

- marketing.view: audiences, campaigns, their messages and measured lift (read only): marketers, managers and
  analysts (analysts read the results; they do not send).
- marketing.change: create and edit audiences and campaigns, launch a campaign up to the approval size, cancel:
  marketers and managers.
- marketing.approve: approve a campaign above the approval size (MARKETING_APPROVAL_SIZE): managers.
Administrators hold all three. Sales reps and service agents have none: the owners of a call-list campaign's
customers get their calls as tasks in sales, not access to the campaign.

Record-level scope is the customers' one: an audience's count, its members and a campaign's members are the
customers the reader may see (customers.scope.CustomerScope).
"""

from clientwise.core import permissions as perms

VIEW_MARKETING = perms.grant("marketing.view", [perms.Role.MANAGER, perms.Role.MARKETER, perms.Role.ANALYST])
CHANGE_MARKETING = perms.grant("marketing.change", [perms.Role.MANAGER, perms.Role.MARKETER])
APPROVE_CAMPAIGNS = perms.grant("marketing.approve", [perms.Role.MANAGER])
