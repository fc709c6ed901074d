"""Permissions of the service app (declared with core.permissions.grant; administrators always have them).

- service.view: open tickets, surveys and work orders of the customers one may see (agents, managers, analysts
  read; sales reps see the tickets of their own customers on the customer page).
- service.work: create, reply to, assign and resolve tickets; create and complete work orders (agents, managers).
- service.manage: queues, routing rules, SLA policies, calendars, survey weights, canned replies, knowledge base,
  technicians (managers).
- service.reports: satisfaction and complaint-recovery reports (managers, analysts, agents).
"""

from __future__ import annotations

from clientwise.core.permissions import Role, grant

SERVICE_VIEW = grant("service.view", [Role.MANAGER, Role.SERVICE_AGENT, Role.ANALYST, Role.SALES_REP])
SERVICE_WORK = grant("service.work", [Role.MANAGER, Role.SERVICE_AGENT])
SERVICE_MANAGE = grant("service.manage", [Role.MANAGER])
SERVICE_REPORTS = grant("service.reports", [Role.MANAGER, Role.ANALYST, Role.SERVICE_AGENT])
