"""Rights of the reports app. Everyone with a role may build pivots over what they see; saving a report for other
roles (sharing) and scheduling e-mails need more (docs/reports.md)."""

from __future__ import annotations

from clientwise.core import permissions as perms

R = perms.Role

USE_REPORTS = perms.grant("reports.use", [R.MANAGER, R.SALES_REP, R.SERVICE_AGENT, R.MARKETER, R.ANALYST])
SHARE_REPORTS = perms.grant("reports.share", [R.MANAGER, R.MARKETER, R.ANALYST])
